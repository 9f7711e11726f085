"""What organization and customer states refuse (SPEC §3), for the build, data plane and widget.

Refusals are ``ValidationError``s whose ``code`` is the error name the API and the widget use
(``organization_suspended``, ``customer_suspended``, …); views show their message.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from customers.models import Customer, CustomerStatus, Organization, OrganizationStatus

RUN_REFUSALS = {
    CustomerStatus.PENDING_ACTIVATION: "customer_pending_activation",
    CustomerStatus.SUSPENDED: "customer_suspended",
    CustomerStatus.RELOCATING: "customer_relocating",
    CustomerStatus.DELETING: "customer_deleting",
}
WRITE_REFUSALS = {
    CustomerStatus.SUSPENDED: "customer_suspended",
    CustomerStatus.RELOCATING: "customer_relocating",
    CustomerStatus.DELETING: "customer_deleting",
}
# The widget is refused outright for these; `customer_suspended` is the error name it shows.
WIDGET_REFUSALS = frozenset(
    {CustomerStatus.PENDING_ACTIVATION, CustomerStatus.SUSPENDED, CustomerStatus.DELETING}
)


def organization_require_writable(*, organization: Organization) -> None:
    if organization.status in (OrganizationStatus.SUSPENDED, OrganizationStatus.DELETING):
        raise ValidationError(
            f"{organization.name} is suspended: changes are refused.",
            code="organization_suspended",
        )


def _refuse(customer: Customer, code: str, what: str) -> ValidationError:
    label = CustomerStatus(customer.status).label.lower()
    return ValidationError(f"{customer.name} is {label}: {what} refused.", code=code)


def customer_require_writable(*, organization: Organization, customer: Customer) -> None:
    organization_require_writable(organization=organization)
    code = WRITE_REFUSALS.get(CustomerStatus(customer.status))
    if code is not None:
        raise _refuse(customer, code, "changes are")


def customer_require_runnable(*, organization: Organization, customer: Customer) -> None:
    """Runs (workflows, tests, test panels) need an active customer in a writable organization."""
    organization_require_writable(organization=organization)
    code = RUN_REFUSALS.get(CustomerStatus(customer.status))
    if code is not None:
        raise _refuse(customer, code, "runs are")


def widget_refusal(*, organization: Organization, customer: Customer) -> str | None:
    """The error name that refuses the widget for this customer, or ``None``."""
    if organization.status in (OrganizationStatus.SUSPENDED, OrganizationStatus.DELETING):
        return "organization_suspended"
    if customer.status in WIDGET_REFUSALS:
        return "customer_suspended"
    return None
