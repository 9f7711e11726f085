"""Writes for billing: count-limit guards, customer limit overrides, plan upgrade requests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail

from api.models import ApiKey
from audit import actions
from audit.services import audit_customer, audit_record
from billing.models import UpgradeRequest
from billing.selectors import effective_limit, override_bounds
from customers.models import Customer, CustomerLimitOverride, Organization, Plan
from customers.plans import LIMIT_LABELS, PER_CUSTOMER_LIMITS
from customers.states import customer_require_writable
from dataplane.models import Connection, Workflow
from tenancy.context import ORGANIZATION, Scope, context, on_commit, require_scope

COUNT_LIMITS = (
    "customers_per_org",
    "api_keys_per_org",
    "connections_per_customer",
    "workflows_per_customer",
)


class LimitReached(ValidationError):
    """Adding one more would pass a count limit. ``key`` and ``limit`` name it for API errors."""

    def __init__(self, *, key: str, limit: int, plan_name: str, source: str) -> None:
        where = "on the " + plan_name + " plan" if source == "plan" else "(customer override)"
        super().__init__(f"{LIMIT_LABELS[key]} limit ({limit:,}) reached {where}.", code=key)
        self.key = key
        self.limit = limit


def _current_count(key: str) -> int:
    if key == "customers_per_org":
        return Customer.objects.live().count()
    if key == "api_keys_per_org":
        return ApiKey.objects.filter(revoked_at__isnull=True).count()
    if key == "connections_per_customer":
        return Connection.objects.count()
    return Workflow.objects.count()


@contextmanager
def _organization_wide_view(scope: Scope) -> Iterator[None]:
    """Where an organization-level cap is counted: the whole organization.

    A request may have narrowed its scope to one customer (the API's ``x-end-org-id``), and in
    that scope the customers table shows that customer alone; counting there would let any
    request naming a customer pass the cap. The count runs in the organization's own scope
    instead, nested in the caller's transaction (so the lock taken before it still holds) and
    left again afterwards. A customer-restricted scope is never widened: such a principal has
    no business adding organization-level rows, and its count would be wrong.
    """
    if scope.is_customer_restricted:
        raise ValueError(
            "Organization-level caps are counted by organization-wide principals only."
        )
    if scope.customer_id is None:
        yield
        return
    with context(org_id=scope.org_id, role=ORGANIZATION, user_id=scope.user_id):
        yield


def count_limit_guard(
    *, organization: Organization, key: str, customer: Customer | None = None, adding: int = 1
) -> None:
    """Lock the parent row, then refuse if ``adding`` more rows would pass the count limit.

    Call it inside the transaction that inserts the rows: the lock on the organization row
    (customers, API keys) or the customer row (connections, workflows) is held until that
    transaction ends, so two concurrent requests are counted one after the other. Per-customer
    limits count the customer in scope; organization-level caps count the whole organization,
    whatever customer the caller's scope names (``_organization_wide_view``). Raises
    ``LimitReached`` (a ``ValidationError``), or ``CustomerNotWritable`` for a customer whose
    state refuses writes.
    """
    if key not in COUNT_LIMITS:
        raise ValueError(f"{key!r} is not a count limit; use one of {COUNT_LIMITS}")
    scope = require_scope()
    if scope.org_id != organization.id:
        raise ValueError("The organization is not the one in scope.")
    per_customer = key in PER_CUSTOMER_LIMITS
    if per_customer:
        if customer is None or scope.customer_id != customer.id:
            raise ValueError(f"{key} is counted in the customer's own scope.")
        locked = Customer.objects.select_for_update().get(id=customer.id)
        customer_require_writable(customer=locked)
        count = _current_count(key)
    else:
        with _organization_wide_view(scope):
            Organization.objects.select_for_update().filter(id=organization.id).first()
            count = _current_count(key)
    limit = effective_limit(
        organization=organization, key=key, customer=customer if per_customer else None
    )
    if count + adding > limit.value:
        raise LimitReached(
            key=key, limit=limit.value, plan_name=organization.plan.name, source=limit.source
        )


def customer_limit_set(
    *, acting_user: Any, organization: Organization, customer: Customer, key: str, value: int
) -> CustomerLimitOverride:
    """Override one per-customer limit, up or down, within 1..10× the Enterprise value."""
    if key not in PER_CUSTOMER_LIMITS:
        raise ValidationError({key: "Only per-customer limits can be overridden."})
    low, high = override_bounds(key)
    if not low <= value <= high:
        raise ValidationError({key: f"Enter a whole number from {low:,} to {high:,}."})
    before = effective_limit(organization=organization, key=key, customer=customer)
    override, _ = CustomerLimitOverride.objects.update_or_create(
        customer_id=customer.id, limit_key=key, defaults={"org": organization, "value": value}
    )
    audit_customer(
        actor=acting_user,
        action=actions.CUSTOMER_LIMIT_OVERRIDE,
        customer_id=customer.id,
        before={"limit": key, "value": before.value, "source": before.source},
        after={"limit": key, "value": value, "source": "override"},
    )
    return override


def customer_limit_reset(
    *, acting_user: Any, organization: Organization, customer: Customer, key: str
) -> None:
    """Return one limit to the plan's value."""
    override = CustomerLimitOverride.objects.filter(customer_id=customer.id, limit_key=key).first()
    if override is None:
        return
    plan_value = effective_limit(organization=organization, key=key).value
    override.delete()
    audit_customer(
        actor=acting_user,
        action=actions.CUSTOMER_LIMIT_RESET,
        customer_id=customer.id,
        before={"limit": key, "value": override.value, "source": "override"},
        after={"limit": key, "value": plan_value, "source": "plan"},
    )


def upgrade_request_create(
    *, acting_user: Any, organization: Organization, plan: Plan, message: str = ""
) -> UpgradeRequest:
    if plan.id == organization.plan_id:
        raise ValidationError({"plan": f"The organization is already on the {plan.name} plan."})
    request = UpgradeRequest.objects.create(
        org=organization,
        current_plan_id=organization.plan_id,
        requested_plan=plan,
        message=message.strip(),
        requested_by=acting_user,
    )
    audit_record(
        actor=acting_user,
        action=actions.BILLING_UPGRADE_REQUEST,
        target_type="upgrade_request",
        target_id=request.id,
        after={"from": organization.plan.code, "to": plan.code},
    )
    subject = f"Plan change request: {organization.name} → {plan.name}"
    body = (
        f"{acting_user.email} asks to move {organization.name} ({organization.slug}) from "
        f"{organization.plan.name} to {plan.name}.\n\n{request.message or '(no message)'}\n\n"
        "Change the plan in the admin: Organizations → " + organization.slug
    )
    on_commit(lambda: _mail_staff(subject, body))
    return request


def _mail_staff(subject: str, body: str) -> None:
    recipients = list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .values_list("email", flat=True)
    )
    if recipients:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
