"""Plan limits and their per-customer overrides (SPEC §7)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from api.models import ApiKey, UsageKind, UsageRecord
from customers.models import (
    Customer,
    CustomerLimitOverride,
    Organization,
    OrganizationStatus,
)
from customers.plans import LIMIT_LABELS, PER_CUSTOMER_LIMITS, PLANS
from customers.selectors import connection_counts, workflow_counts

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


OVERRIDE_CEILING_FACTOR = 10
WARN_AT = 0.8


def override_bounds(key: str) -> tuple[int, int]:
    """An override may go from 1 up to 10× the Enterprise plan's value (SPEC §7)."""
    enterprise = next(plan for plan in PLANS if plan["code"] == "enterprise")
    limits: dict[str, int] = enterprise["limits"]  # type: ignore[assignment]
    return 1, OVERRIDE_CEILING_FACTOR * int(limits[key])


@dataclass(frozen=True)
class Usage:
    key: str
    label: str
    used: int
    limit: int
    source: str = PLAN

    @property
    def ratio(self) -> float:
        return self.used / self.limit if self.limit else 1.0

    @property
    def percent(self) -> int:
        return min(100, round(self.ratio * 100))

    @property
    def level(self) -> str:
        """``ok``, ``warning`` from 80 %, ``full`` at 100 %."""
        if self.ratio >= 1:
            return "full"
        if self.ratio >= WARN_AT:
            return "warning"
        return "ok"


def _usage_today(kind: str, customer_ids: list[uuid.UUID] | None) -> dict[uuid.UUID | None, int]:
    records = UsageRecord.objects.filter(day=timezone.now().date(), kind=kind)
    if customer_ids is not None:
        records = records.filter(subject_customer_id__in=customer_ids)
    else:
        records = records.filter(subject_customer_id__isnull=True)
    totals: dict[uuid.UUID | None, int] = {}
    for row in records.values("subject_customer_id").annotate(total=Sum("count")):
        totals[row["subject_customer_id"]] = int(row["total"] or 0)
    return totals


def organization_usage(*, organization: Organization) -> list[Usage]:
    """Organization-level caps and the organization-wide API bucket, used against their limit."""

    def limit(key: str) -> int:
        return plan_limit(organization=organization, key=key)

    customers = Customer.objects.live().count()
    keys = ApiKey.objects.filter(revoked_at__isnull=True).count()
    events = _usage_today(UsageKind.EVENT, None).get(None, 0)
    calls = _usage_today(UsageKind.API_CALL, None).get(None, 0)
    return [
        Usage(
            "customers_per_org",
            LIMIT_LABELS["customers_per_org"],
            customers,
            limit("customers_per_org"),
        ),
        Usage(
            "api_keys_per_org", LIMIT_LABELS["api_keys_per_org"], keys, limit("api_keys_per_org")
        ),
        Usage("events_per_day", "Events today without a customer", events, limit("events_per_day")),
        Usage(
            "api_calls_per_day",
            "API calls today without a customer",
            calls,
            limit("api_calls_per_day"),
        ),
    ]


@dataclass(frozen=True)
class CustomerUsage:
    customer: Customer
    usages: list[Usage]

    @property
    def level(self) -> str:
        levels = {usage.level for usage in self.usages}
        return "full" if "full" in levels else "warning" if "warning" in levels else "ok"


def customers_usage(
    *, organization: Organization, customers: Sequence[Customer]
) -> list[CustomerUsage]:
    """Per-customer usage for one page of customers: a constant number of queries."""
    ids = [customer.id for customer in customers]
    overrides: dict[tuple[uuid.UUID, str], int] = {
        (row.customer_id, row.limit_key): int(row.value)
        for row in CustomerLimitOverride.objects.filter(customer_id__in=ids)
    }
    events = _usage_today(UsageKind.EVENT, ids)
    calls = _usage_today(UsageKind.API_CALL, ids)
    connections = connection_counts(customers)
    workflows = workflow_counts(customers)
    used: dict[str, Mapping[Any, int]] = {
        "events_per_day": events,
        "api_calls_per_day": calls,
        "connections_per_customer": connections,
        "workflows_per_customer": workflows,
    }
    rows = []
    for customer in customers:
        usages = []
        for key, counts in used.items():
            override = overrides.get((customer.id, key))
            usages.append(
                Usage(
                    key,
                    LIMIT_LABELS[key],
                    int(counts.get(customer.id, 0)),
                    override
                    if override is not None
                    else plan_limit(organization=organization, key=key),
                    OVERRIDE if override is not None else PLAN,
                )
            )
        rows.append(CustomerUsage(customer, usages))
    return rows


def customer_usage(*, organization: Organization, customer: Customer) -> dict[str, Usage]:
    return {
        u.key: u for u in customers_usage(organization=organization, customers=[customer])[0].usages
    }
