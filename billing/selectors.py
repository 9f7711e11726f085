"""Plan limits and their per-customer overrides (SPEC §7)."""

from __future__ import annotations

from dataclasses import dataclass

from customers.models import Customer, CustomerLimitOverride, Organization, OrganizationStatus
from customers.plans import LIMIT_LABELS, PER_CUSTOMER_LIMITS

PLAN = "plan"
OVERRIDE = "override"


@dataclass(frozen=True)
class EffectiveLimit:
    key: str
    label: str
    value: int
    source: str  # PLAN or OVERRIDE
    plan_value: int


def plan_limit(*, organization: Organization, key: str) -> int:
    """The plan's value; provisional organizations get half of it (SPEC §3)."""
    if key not in LIMIT_LABELS:
        raise ValueError(f"Unknown limit {key!r}")
    value = int(organization.plan.limits[key])
    if organization.status == OrganizationStatus.PROVISIONAL:
        value = max(1, value // 2)
    return value


def effective_limit(
    *, organization: Organization, key: str, customer: Customer | None = None
) -> EffectiveLimit:
    """The limit in force for ``customer`` (or the organization-wide bucket when ``None``)."""
    base = plan_limit(organization=organization, key=key)
    if customer is not None and key in PER_CUSTOMER_LIMITS:
        override = (
            CustomerLimitOverride.objects.filter(customer_id=customer.id, limit_key=key)
            .values_list("value", flat=True)
            .first()
        )
        if override is not None:
            return EffectiveLimit(key, LIMIT_LABELS[key], int(override), OVERRIDE, base)
    return EffectiveLimit(key, LIMIT_LABELS[key], base, PLAN, base)


def effective_limits(
    *, organization: Organization, customer: Customer | None = None
) -> list[EffectiveLimit]:
    keys = PER_CUSTOMER_LIMITS if customer is not None else tuple(LIMIT_LABELS)
    return [effective_limit(organization=organization, key=k, customer=customer) for k in keys]
