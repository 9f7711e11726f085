"""Usage over time as the pages show it (SPEC §13): the daily charts of Settings → Billing and of
a customer's Limits tab, and Billing's top customers.

Reads only through the one usage source of ``billing.selectors`` (``usage_series``,
``usage_overview``), the same as ``GET /api/v1/usage``; the bar geometry is ``billing.charts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from django.core.paginator import Page, Paginator

from api import ratelimit
from api.models import UsageKind
from audit.services import ORGANIZATION_WIDE
from billing.charts import BarChart, bar_chart
from billing.selectors import (
    DAILY_LIMITS,
    USAGE_PERIODS,
    BySubject,
    EffectiveLimit,
    Subject,
    UsageSeries,
    effective_limits,
    usage_overview,
    usage_series,
)
from customers.models import Customer, Organization
from customers.plans import LIMIT_LABELS

DELETED_CUSTOMER = "Deleted customer"
TOP_CUSTOMERS_PER_PAGE = 20


@dataclass(frozen=True)
class LimitChart:
    key: str
    label: str
    limit: EffectiveLimit | None  # None on the whole organization's totals
    chart: BarChart


@dataclass(frozen=True)
class UsagePanel:
    days: int
    refused_period: str  # a ``?days=`` value that is not one of USAGE_PERIODS ("" when fine)
    charts: tuple[LimitChart, ...]
    per_minute: tuple[EffectiveLimit, ...]  # no daily series; listed so overrides show
    periods: tuple[int, ...] = USAGE_PERIODS


def usage_period(value: str | None) -> tuple[int, str]:
    """The period a ``?days=`` value asks for, and the value itself when it is not a period."""
    if value is None or value == "":
        return USAGE_PERIODS[0], ""
    if value.isdigit() and int(value) in USAGE_PERIODS:
        return int(value), ""
    return USAGE_PERIODS[0], value[:20]


def _panel(
    organization: Organization,
    period: tuple[int, str],
    series: UsageSeries,
    customer: Customer | None,
) -> UsagePanel:
    """Daily charts per daily limit: a customer's against its effective limits, or the whole
    organization's totals (without a limit line: limits apply to each customer)."""
    limits = {
        limit.key: limit for limit in effective_limits(organization=organization, customer=customer)
    }
    charts = []
    for key in DAILY_LIMITS:
        limit = limits[key] if customer is not None else None
        chart = bar_chart(
            days=series.days, values=series.for_limit(key), limit=limit.value if limit else None
        )
        charts.append(LimitChart(key, LIMIT_LABELS[key], limit, chart))
    per_minute = tuple(
        limit
        for key, limit in limits.items()
        if key in ratelimit.LIMIT_WINDOWS and key not in DAILY_LIMITS
    )
    return UsagePanel(period[0], period[1], tuple(charts), per_minute)


def usage_panel(
    *, organization: Organization, days: str | None, customer: Customer | None = None
) -> UsagePanel:
    """The charts of one customer (a Limits tab, Billing's picked customer) or of the whole
    organization, over the period ``days`` (a ``?days=`` value) asks for."""
    period = usage_period(days)
    series = usage_series(
        organization=organization,
        days=period[0],
        customer_id=customer.id if customer else None,
        whole_organization=customer is None,
    )
    return _panel(organization, period, series, customer)


class RankedUsage(NamedTuple):
    """One line of Billing's top customers (``customer_id`` None: calls without a customer)."""

    rank: int
    customer_id: Subject
    name: str
    events: int
    api_calls: int

    @property
    def is_customer(self) -> bool:
        return self.customer_id is not None and self.name != DELETED_CUSTOMER


def _top_customers(totals: BySubject, page_number: str | None) -> Page[RankedUsage]:
    """One page of the subjects by usage (API calls, then events); the names of this page's
    customers in one query. Calls without a customer rank as "Organization-wide"."""
    calls, events = str(UsageKind.API_CALL), str(UsageKind.EVENT)
    ranked = sorted(
        totals.items(), key=lambda item: (-item[1][calls], -item[1][events], str(item[0] or ""))
    )
    page: Page[Any] = Paginator(ranked, TOP_CUSTOMERS_PER_PAGE).get_page(page_number)
    ids = [subject for subject, _ in page.object_list if subject is not None]
    names = dict(Customer.objects.filter(id__in=ids).values_list("id", "name"))
    page.object_list = [
        RankedUsage(
            rank=page.start_index() + offset,
            customer_id=subject,
            name=ORGANIZATION_WIDE if subject is None else names.get(subject, DELETED_CUSTOMER),
            events=counts[events],
            api_calls=counts[calls],
        )
        for offset, (subject, counts) in enumerate(page.object_list)
    ]
    return page


def billing_usage(
    *,
    organization: Organization,
    days: str | None,
    top_page: str | None,
    end: date | None = None,
) -> tuple[UsagePanel, Page[RankedUsage]]:
    """Settings → Billing's usage over time: the whole organization's charts and its top
    customers over the same period, from one read of the usage source."""
    period = usage_period(days)
    series, totals = usage_overview(organization=organization, days=period[0], end=end)
    return _panel(organization, period, series, None), _top_customers(totals, top_page)
