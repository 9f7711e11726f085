"""Reads for API keys and usage.

``usage_by_customer`` and ``usage_daily`` read the one usage source of Settings → Billing and the
API's usage endpoint, ``billing.selectors.usage_series`` / ``usage_by_subject``: durable
``UsageRecord`` rows plus the counts still pending in Redis (at most a minute old), so the
figures match what the rate limiter counted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import redis
from django.db.models import Q, QuerySet

from api import ratelimit
from api.models import ApiKey, UsageKind
from audit.services import ORGANIZATION_WIDE
from billing.selectors import usage_by_subject, usage_series, usage_today
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
    return usage_today()


def usage_by_customer(
    *, organization: Organization, start: date | None = None, end: date | None = None
) -> list[CustomerUsage]:
    """API calls and events per customer from ``start`` to ``end`` (default: this UTC month),
    busiest first; calls without ``x-end-org-id`` appear as "Organization-wide"."""
    end = end or today()
    start = start or end.replace(day=1)
    totals = usage_by_subject(organization=organization, start=start, end=end)
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
    the whole organization (``billing.selectors.usage_series``)."""
    series = usage_series(
        organization=organization,
        days=days,
        end=end,
        customer_id=customer_id,
        whole_organization=customer_id is None,
    )
    return [DailyUsage(**day) for day in series.daily()]


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
