"""Reads for API keys and usage.

``usage_by_customer`` and ``usage_daily`` serve Settings → Billing and the API's usage endpoint:
durable ``UsageRecord`` rows plus the counts still pending in Redis (at most a minute old), so
the figures match what the rate limiter counted.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import redis
from django.db.models import Q, QuerySet, Sum

from api import ratelimit
from api.models import ApiKey, UsageKind, UsageRecord
from audit.services import ORGANIZATION_WIDE
from customers.models import Customer, Organization


def api_key_list(*, search: str = "") -> QuerySet[ApiKey]:
    keys = ApiKey.objects.select_related("role", "created_by").prefetch_related("customer_links")
    search = search.strip()
    if search:
        keys = keys.filter(Q(name__icontains=search) | Q(prefix__icontains=search))
    return keys.order_by("revoked_at", "-created_at")


def api_key_customers(key: ApiKey) -> list[Customer]:
    ids = [link.customer_id for link in key.customer_links.all()]
    return list(Customer.objects.filter(id__in=ids).order_by("name"))


@dataclass(frozen=True)
class CustomerUsage:
    customer_id: uuid.UUID | None  # None: calls made without x-end-org-id
    name: str
    api_calls: int
    events: int


@dataclass(frozen=True)
class DailyUsage:
    day: date
    api_calls: int
    events: int


def today() -> date:
    return datetime.now(UTC).date()


def _pending(organization: Organization) -> list[tuple[uuid.UUID | None, date, str, int]]:
    """Counts accepted but not flushed yet (empty when Redis cannot be reached)."""
    try:
        raw = ratelimit.client().hgetall(ratelimit.usage_hash_key(organization.id))
    except redis.RedisError:
        return []
    rows = []
    for field, value in raw.items():  # type: ignore[union-attr]
        text = field.decode() if isinstance(field, bytes) else str(field)
        customer, day, kind = text.split("|")
        rows.append(
            (uuid.UUID(customer) if customer else None, date.fromisoformat(day), kind, int(value))
        )
    return rows


def _usage_rows(
    organization: Organization, start: date, end: date, customer_id: uuid.UUID | None = None
) -> list[tuple[uuid.UUID | None, date, str, int]]:
    records = UsageRecord.objects.filter(org_id=organization.id, day__gte=start, day__lte=end)
    if customer_id is not None:
        records = records.filter(subject_customer_id=customer_id)
    rows = [
        (row["subject_customer_id"], row["day"], row["kind"], int(row["total"]))
        for row in records.values("subject_customer_id", "day", "kind").annotate(total=Sum("count"))
    ]
    for pending in _pending(organization):
        if start <= pending[1] <= end and (customer_id is None or pending[0] == customer_id):
            rows.append(pending)
    return rows


def usage_by_customer(
    *, organization: Organization, start: date | None = None, end: date | None = None
) -> list[CustomerUsage]:
    """API calls and events per customer from ``start`` to ``end`` (default: this UTC month),
    busiest first; calls without ``x-end-org-id`` appear as "Organization-wide"."""
    end = end or today()
    start = start or end.replace(day=1)
    totals: dict[uuid.UUID | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for customer_id, _, kind, count in _usage_rows(organization, start, end):
        totals[customer_id][kind] += count
    names = dict(
        Customer.objects.filter(id__in=[c for c in totals if c is not None]).values_list(
            "id", "name"
        )
    )
    result = [
        CustomerUsage(
            customer_id=customer_id,
            name=ORGANIZATION_WIDE if customer_id is None else names.get(customer_id, "—"),
            api_calls=counts[UsageKind.API_CALL],
            events=counts[UsageKind.EVENT],
        )
        for customer_id, counts in totals.items()
        if customer_id is None or customer_id in names
    ]
    return sorted(result, key=lambda u: (-u.api_calls, -u.events, u.name))


def usage_daily(
    *,
    organization: Organization,
    days: int = 30,
    end: date | None = None,
    customer_id: uuid.UUID | None = None,
) -> list[DailyUsage]:
    """One entry per UTC day (oldest first, days without usage as zeros), for one customer or
    the whole organization."""
    end = end or today()
    start = end - timedelta(days=days - 1)
    totals: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for _, day, kind, count in _usage_rows(organization, start, end, customer_id):
        totals[day][kind] += count
    return [
        DailyUsage(
            day=start + timedelta(days=offset),
            api_calls=totals[start + timedelta(days=offset)][UsageKind.API_CALL],
            events=totals[start + timedelta(days=offset)][UsageKind.EVENT],
        )
        for offset in range(days)
    ]


def current_window_usage(
    *, organization: Organization, customer: Customer | None
) -> dict[str, int]:
    """The counts of the rate-limit windows in force now (for the usage endpoint)."""
    try:
        return ratelimit.current_counts(
            org_id=organization.id, customer_id=customer.id if customer else None
        )
    except redis.RedisError:
        return {}
