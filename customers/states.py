"""The state table of SPEC §3, as data: what each organization and customer state refuses.

Every entry point asks this module and nothing else: the console middleware (``write``), the
services (``write``, ``run``, ``deploy_prod``), the API (``api``, ``api_write``) and the widget
(``widget``). A refusal is named by its error code (``organization_suspended``, …), which the
API and the widget show as is; ``REFUSALS`` holds each code's HTTP status and wording.

"Deleting is hidden" is ``Customer.objects.live()`` / ``Organization.objects.live()`` (the
querysets in ``customers.models``), built from ``HIDDEN_*`` below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.core.exceptions import ValidationError

from customers.models import (
    HIDDEN_CUSTOMER_STATES,
    HIDDEN_ORGANIZATION_STATES,
    Customer,
    CustomerStatus,
    Organization,
    OrganizationStatus,
)

Action = Literal["write", "run", "deploy_prod", "api", "api_write", "widget"]

__all__ = [
    "HIDDEN_CUSTOMER_STATES",
    "HIDDEN_ORGANIZATION_STATES",
    "REFUSALS",
    "CustomerNotWritable",
    "Refusal",
    "can_deploy_to_prod",
    "customer_refusal",
    "customer_require_runnable",
    "customer_require_writable",
    "organization_refusal",
    "organization_require_deployable",
    "organization_require_writable",
    "widget_refusal",
]


@dataclass(frozen=True)
class Refusal:
    """How an entry point says no: HTTP status, a page title and the API's sentence."""

    status: int
    title: str
    message: str


REFUSALS: dict[str, Refusal] = {
    "organization_suspended": Refusal(
        403,
        "This organization is suspended",
        "The organization is suspended.",
    ),
    "organization_deleting": Refusal(
        403, "This organization is being deleted", "The organization is being deleted."
    ),
    "organization_provisional": Refusal(
        403,
        "This organization is provisional",
        "Provisional organizations cannot deploy to prod until Fastn staff confirm the "
        "organization.",
    ),
    "customer_pending_activation": Refusal(
        403, "This customer is not activated yet", "The customer has not been activated yet."
    ),
    "customer_suspended": Refusal(403, "This customer is suspended", "The customer is suspended."),
    "customer_relocating": Refusal(
        409,
        "This customer's data is moving to another region",
        "The customer is moving to another region; reads work, writes resume afterwards.",
    ),
    "customer_deleting": Refusal(404, "This customer is being deleted", "No such customer."),
}

# State -> action -> the error code that refuses it. A state or action not listed is allowed.
ORGANIZATION_STATES: dict[str, dict[Action, str]] = {
    OrganizationStatus.ACTIVE: {},
    OrganizationStatus.PROVISIONAL: {"deploy_prod": "organization_provisional"},
    OrganizationStatus.SUSPENDED: {
        "write": "organization_suspended",
        "run": "organization_suspended",
        "deploy_prod": "organization_suspended",
        "api": "organization_suspended",
        "api_write": "organization_suspended",
        "widget": "organization_suspended",
    },
    # Hidden from every list and URL; services that still hold the row refuse it like a
    # suspended one, the API names the deletion.
    OrganizationStatus.DELETING: {
        "write": "organization_suspended",
        "run": "organization_suspended",
        "deploy_prod": "organization_suspended",
        "api": "organization_deleting",
        "api_write": "organization_deleting",
        "widget": "organization_suspended",
    },
}

CUSTOMER_STATES: dict[str, dict[Action, str]] = {
    CustomerStatus.PENDING_ACTIVATION: {
        "run": "customer_pending_activation",
        "api": "customer_pending_activation",
        "api_write": "customer_pending_activation",
        # The widget shows one refusal to end users, whatever the reason.
        "widget": "customer_suspended",
    },
    CustomerStatus.ACTIVE: {},
    CustomerStatus.SUSPENDED: {
        "write": "customer_suspended",
        "run": "customer_suspended",
        "api": "customer_suspended",
        "api_write": "customer_suspended",
        "widget": "customer_suspended",
    },
    CustomerStatus.RELOCATING: {
        "write": "customer_relocating",
        "run": "customer_relocating",
        "api_write": "customer_relocating",
    },
    CustomerStatus.DELETING: {
        "write": "customer_deleting",
        "run": "customer_deleting",
        "api": "customer_deleting",
        "api_write": "customer_deleting",
        "widget": "customer_suspended",
    },
}


class CustomerNotWritable(ValidationError):
    """The customer's state refuses writes (SPEC §3); ``code`` is the error name the API uses."""


def organization_refusal(organization: Organization, action: Action) -> str | None:
    """The error code with which ``organization``'s state refuses ``action``, or ``None``."""
    return ORGANIZATION_STATES[organization.status].get(action)


def customer_refusal(customer: Customer, action: Action) -> str | None:
    """The error code with which ``customer``'s state refuses ``action``, or ``None``."""
    return CUSTOMER_STATES[customer.status].get(action)


def can_deploy_to_prod(organization: Organization) -> bool:
    return organization_refusal(organization, "deploy_prod") is None


def organization_require_writable(*, organization: Organization) -> None:
    code = organization_refusal(organization, "write")
    if code is not None:
        raise ValidationError(f"{organization.name} is suspended: changes are refused.", code=code)


def organization_require_deployable(*, organization: Organization, environment: str) -> None:
    """Deploys need a writable organization; prod also waits for staff to confirm it."""
    organization_require_writable(organization=organization)
    if environment == "prod" and not can_deploy_to_prod(organization):
        raise ValidationError(
            "Provisional organizations cannot deploy to prod until Fastn staff confirm the "
            "organization. Deploy to test in the meantime.",
            code="organization_provisional",
        )


def _customer_refused(customer: Customer, code: str, what: str) -> CustomerNotWritable:
    label = CustomerStatus(customer.status).label.lower()
    return CustomerNotWritable(f"{customer.name} is {label}: {what} refused.", code=code)


def customer_require_writable(
    *, customer: Customer, organization: Organization | None = None
) -> None:
    """Writes to a customer's data need a writable organization and a writable customer."""
    if organization is not None:
        organization_require_writable(organization=organization)
    code = customer_refusal(customer, "write")
    if code is not None:
        raise _customer_refused(customer, code, "changes are")


def customer_require_runnable(*, organization: Organization, customer: Customer) -> None:
    """Runs (workflows, tests, test panels) need an active customer in a writable organization."""
    organization_require_writable(organization=organization)
    code = customer_refusal(customer, "run")
    if code is not None:
        raise _customer_refused(customer, code, "runs are")


def widget_refusal(*, organization: Organization, customer: Customer) -> str | None:
    """The error name that refuses the widget for this customer, or ``None``."""
    return organization_refusal(organization, "widget") or customer_refusal(customer, "widget")
