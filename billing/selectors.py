"""Plan limits, their per-customer overrides and usage against them (SPEC §7, §13).

The one usage source: ``usage_series`` (daily, for one customer or the whole organization),
``usage_by_subject`` (totals per customer) and ``usage_overview`` (both in one pass) read the
``UsageRecord`` rows the flush wrote plus the counts still pending in Redis, so Settings →
Billing, a customer's Limits tab and ``GET /api/v1/usage`` show the same figures, at most a
minute old, never lagging behind the rate limiter.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import redis
from django.db import connections, router

from api import ratelimit
from api.models import ApiKey, UsageKind, UsageRecord
from customers.models import (
    Customer,
    CustomerLimitOverride,
    Organization,
    OrganizationStatus,
)
from customers.plans import LIMIT_LABELS, PER_CUSTOMER_LIMITS, PLANS
from customers.selectors import connection_counts, workflow_counts
from tenancy.context import require_scope

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


def _effective(organization: Organization, key: str, override: int | None) -> EffectiveLimit:
    base = plan_limit(organization=organization, key=key)
    if override is not None and key in PER_CUSTOMER_LIMITS:
        return EffectiveLimit(key, LIMIT_LABELS[key], int(override), OVERRIDE, base)
    return EffectiveLimit(key, LIMIT_LABELS[key], base, PLAN, base)


def effective_limit(
    *, organization: Organization, key: str, customer: Customer | None = None
) -> EffectiveLimit:
    """The limit in force for ``customer`` (or the organization-wide bucket when ``None``)."""
    override = None
    if customer is not None and key in PER_CUSTOMER_LIMITS:
        override = (
            CustomerLimitOverride.objects.filter(customer_id=customer.id, limit_key=key)
            .values_list("value", flat=True)
            .first()
        )
    return _effective(organization, key, override)


def effective_limits(
    *, organization: Organization, customer: Customer | None = None
) -> list[EffectiveLimit]:
    """Every limit in force for ``customer`` (its overrides read in one query), or the plan's."""
    keys = PER_CUSTOMER_LIMITS if customer is not None else tuple(LIMIT_LABELS)
    overrides: dict[str, int] = {}
    if customer is not None:
        overrides = dict(
            CustomerLimitOverride.objects.filter(customer_id=customer.id).values_list(
                "limit_key", "value"
            )
        )
    return [_effective(organization, key, overrides.get(key)) for key in keys]


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


# --- The one usage source: durable records plus what Redis counted and has not flushed -------

Subject = uuid.UUID | None  # a customer, or None for calls made without x-end-org-id
# The limits a daily series is drawn for, and the usage kind each one counts.
DAILY_LIMITS: dict[str, str] = {
    key: kind for key, (kind, length) in ratelimit.LIMIT_WINDOWS.items() if length == ratelimit.DAY
}
USAGE_PERIODS = (30, 90)
MAX_USAGE_DAYS = max(USAGE_PERIODS)


def usage_today() -> date:
    """Usage days are UTC days (SPEC §7), whatever the server's time zone."""
    return datetime.now(UTC).date()


def _pending_usage(organization: Organization) -> list[tuple[Subject, date, str, int]]:
    """Counts accepted but not flushed yet (at most a minute old; none when Redis is away).

    A scope narrowed to one customer sees that customer's counts only, as RLS lets it see only
    that customer's records."""
    try:
        raw = ratelimit.client().hgetall(ratelimit.usage_hash_key(organization.id))
    except redis.RedisError:
        return []
    narrowed = require_scope().customer_id
    rows = []
    for field, value in raw.items():  # type: ignore[union-attr]
        text = field.decode() if isinstance(field, bytes) else str(field)
        customer, day, kind = text.split("|")
        subject = uuid.UUID(customer) if customer else None
        if narrowed is None or subject == narrowed:
            rows.append((subject, date.fromisoformat(day), kind, int(value)))
    return rows


KINDS: tuple[str, ...] = tuple(UsageKind.values)
ByDay = dict[tuple[date, str], int]
BySubject = dict[Subject, dict[str, int]]

# One pass over the period's records, summed per day and/or per subject (GROUPING SETS: the
# Billing page needs both, and reading 1,000 customers × 90 days twice is most of its time).
# The organization filter repeats what RLS enforces; GROUPING(day) = 1 marks a per-subject sum.
_USAGE_SQL = (
    "SELECT {columns}, kind, SUM(count) "
    "FROM api_usagerecord WHERE org_id = %(org)s AND day >= %(start)s AND day <= %(end)s "
    "{subjects}GROUP BY GROUPING SETS ({sets})"
)
_SUBJECTS_SQL = "AND (subject_customer_id = ANY(%(named)s){null}) "
# (by day, by subject) -> the subject, day and "is a per-subject sum" columns, the sets
_GROUPINGS = {
    (True, True): (
        "subject_customer_id, day, GROUPING(day)",
        "(day, kind), (subject_customer_id, kind)",
    ),
    (True, False): ("NULL::uuid, day, 0", "(day, kind)"),
    (False, True): ("subject_customer_id, NULL::date, 1", "(subject_customer_id, kind)"),
}


def _usage_sums(
    organization: Organization,
    start: date,
    end: date,
    *,
    subjects: Collection[Subject] | None,
    by_day: bool,
    by_subject: bool,
) -> tuple[ByDay, BySubject]:
    """Usage from ``start`` to ``end`` summed per (day, kind) and/or per subject and kind:
    durable records (one query, whatever the number of customers or days) plus the pending
    counts. ``subjects`` limits it to those customers (``None`` among them: the calls without a
    customer); ``None`` reads the whole organization."""
    require_scope()
    wanted = frozenset(subjects) if subjects is not None else None
    params: dict[str, Any] = {"org": organization.id, "start": start, "end": end}
    where = ""
    if wanted is not None:
        params["named"] = [subject for subject in wanted if subject is not None]
        null = " OR subject_customer_id IS NULL" if None in wanted else ""
        where = _SUBJECTS_SQL.format(null=null)
    columns, sets = _GROUPINGS[(by_day, by_subject)]
    per_day: ByDay = defaultdict(int)
    per_subject: BySubject = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    with connections[router.db_for_read(UsageRecord)].cursor() as cursor:
        cursor.execute(_USAGE_SQL.format(columns=columns, subjects=where, sets=sets), params)
        for subject, day, subject_row, kind, total in cursor.fetchall():
            if subject_row:
                per_subject[subject][kind] += int(total)
            else:
                per_day[(day, kind)] += int(total)
    for subject, day, kind, count in _pending_usage(organization):
        if start <= day <= end and (wanted is None or subject in wanted):
            if by_day:
                per_day[(day, kind)] += count
            if by_subject:
                per_subject[subject][kind] += count
    return per_day, per_subject


@dataclass(frozen=True)
class UsageSeries:
    """Daily usage of one subject (a customer or the whole organization), oldest day first;
    days without usage are zeros."""

    days: tuple[date, ...]
    counts: Mapping[str, tuple[int, ...]]  # usage kind -> one count per day

    def for_limit(self, key: str) -> tuple[int, ...]:
        return self.counts[DAILY_LIMITS[key]]

    def daily(self) -> list[dict[str, Any]]:
        """One ``{"day", "api_calls", "events"}`` per day: the API's ``daily``."""
        calls, events = self.counts[UsageKind.API_CALL], self.counts[UsageKind.EVENT]
        return [
            {"day": day, "api_calls": calls[i], "events": events[i]}
            for i, day in enumerate(self.days)
        ]


def _period(days: int, end: date | None) -> tuple[date, date]:
    if not 1 <= days <= MAX_USAGE_DAYS:
        raise ValueError(f"A usage series covers 1 to {MAX_USAGE_DAYS} days, not {days}.")
    end = end or usage_today()
    return end - timedelta(days=days - 1), end


def _series(start: date, days: int, per_day: ByDay) -> UsageSeries:
    dates = tuple(start + timedelta(days=offset) for offset in range(days))
    return UsageSeries(
        days=dates,
        counts={kind: tuple(per_day.get((day, kind), 0) for day in dates) for kind in KINDS},
    )


def usage_series(
    *,
    organization: Organization,
    days: int,
    end: date | None = None,
    customer_id: Subject = None,
    whole_organization: bool = True,
) -> UsageSeries:
    """THE daily usage series, for Settings → Billing, a customer's Limits tab and the API's
    ``GET /api/v1/usage``: ``days`` UTC days up to ``end`` (today), for the whole organization
    (every customer and the calls without one) or, with ``whole_organization=False``, for
    ``customer_id`` alone (``None``: the calls without a customer)."""
    start, end = _period(days, end)
    per_day, _ = _usage_sums(
        organization,
        start,
        end,
        subjects=None if whole_organization else [customer_id],
        by_day=True,
        by_subject=False,
    )
    return _series(start, days, per_day)


def usage_by_subject(
    *,
    organization: Organization,
    start: date,
    end: date,
    subjects: Collection[Subject] | None = None,
) -> BySubject:
    """Usage per customer (``None``: calls without one) and kind from ``start`` to ``end``,
    from the same source as ``usage_series``; ``subjects`` as in ``_usage_sums``."""
    _, per_subject = _usage_sums(
        organization, start, end, subjects=subjects, by_day=False, by_subject=True
    )
    return dict(per_subject)


def usage_overview(
    *, organization: Organization, days: int, end: date | None = None
) -> tuple[UsageSeries, BySubject]:
    """The whole organization's daily series and every subject's totals over the same days,
    read in one pass (Settings → Billing)."""
    start, end = _period(days, end)
    per_day, per_subject = _usage_sums(
        organization, start, end, subjects=None, by_day=True, by_subject=True
    )
    return _series(start, days, per_day), dict(per_subject)


def _used_today(
    organization: Organization, subjects: Collection[Subject]
) -> dict[str, dict[Subject, int]]:
    """Today's usage of ``subjects`` by daily limit key (for the usage bars)."""
    today = usage_today()
    totals = usage_by_subject(organization=organization, start=today, end=today, subjects=subjects)
    return {
        key: {subject: counts[kind] for subject, counts in totals.items()}
        for key, kind in DAILY_LIMITS.items()
    }


def organization_usage(*, organization: Organization) -> list[Usage]:
    """Organization-level caps and the organization-wide API bucket, used against their limit."""

    def limit(key: str) -> int:
        return plan_limit(organization=organization, key=key)

    customers = Customer.objects.live().count()
    keys = ApiKey.objects.filter(revoked_at__isnull=True).count()
    used = _used_today(organization, [None])
    events = used["events_per_day"].get(None, 0)
    calls = used["api_calls_per_day"].get(None, 0)
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
    # Every limit of the customer's that an override sets, per-minute ones included.
    overrides: tuple[EffectiveLimit, ...] = ()

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
    today = _used_today(organization, ids)
    used: dict[str, Mapping[Any, int]] = {
        "events_per_day": today["events_per_day"],
        "api_calls_per_day": today["api_calls_per_day"],
        "connections_per_customer": connection_counts(customers),
        "workflows_per_customer": workflow_counts(customers),
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
        customer_overrides = tuple(
            EffectiveLimit(
                key,
                LIMIT_LABELS[key],
                overrides[(customer.id, key)],
                OVERRIDE,
                plan_limit(organization=organization, key=key),
            )
            for key in PER_CUSTOMER_LIMITS
            if (customer.id, key) in overrides
        )
        rows.append(CustomerUsage(customer, usages, customer_overrides))
    return rows


def customer_usage(*, organization: Organization, customer: Customer) -> dict[str, Usage]:
    return {
        u.key: u for u in customers_usage(organization=organization, customers=[customer])[0].usages
    }
