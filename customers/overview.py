"""The organization's Overview (SPEC §9): how its customers are doing, in one read.

``organization_overview`` gathers only the cards the member may see (customers, usage and limit
warnings, failed executions, pending join requests and invitations), each with the page it links
to. Its number of queries does not grow with the number of customers: counts are aggregates,
lists are short, and the limit check looks only at the customers that could be near a limit
(the busiest today, those with overrides, those with many connections or workflows).
"""

from __future__ import annotations

import heapq
import math
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

from django.db.models import Count, Min, Q, QuerySet, Sum, Window
from django.utils import timezone

from api.models import UsageKind, UsageRecord
from api.selectors import DailyUsage, usage_daily
from billing.selectors import (
    WARN_AT,
    CustomerUsage,
    Usage,
    customers_usage,
    organization_usage,
    plan_limit,
)
from customers.models import Customer, CustomerLimitOverride, CustomerStatus, Organization, Region
from dataplane.models import Connection, ExecutionLog, ExecutionStatus, Workflow
from dataplane.selectors import customers_by_region, each_region
from fastn_console.console import Tenant
from roles import catalog
from roles.selectors import invitation_list, join_request_list

RECENT = 5
Placement = dict[str, list[uuid.UUID]]  # region -> its live customers' ids
FAILED = (ExecutionStatus.FAILED, ExecutionStatus.TIMEOUT)
FAILURE_WINDOW = timedelta(days=7)
# How many of today's busiest customers the limit check and the usage card look at.
BUSIEST = 50
DAILY_LIMITS = {UsageKind.EVENT: "events_per_day", UsageKind.API_CALL: "api_calls_per_day"}
COUNT_LIMITS: dict[str, type[Connection] | type[Workflow]] = {
    "connections_per_customer": Connection,
    "workflows_per_customer": Workflow,
}


@dataclass(frozen=True)
class Tally:
    value: str
    label: str
    count: int


@dataclass(frozen=True)
class CustomerTallies:
    total: int
    by_status: list[Tally]
    by_region: list[Tally]


@dataclass(frozen=True)
class UsageSummary:
    today: DailyUsage
    week: DailyUsage  # the last 7 days' totals (``day`` is the first of them)
    days: list[DailyUsage]
    busiest: list[tuple[Customer, Usage]]  # today's, each with its fullest daily limit

    @property
    def peak(self) -> int:
        """The largest daily figure of the week (the scale of its bars)."""
        return max([1, *(max(day.events, day.api_calls) for day in self.days)])


@dataclass(frozen=True)
class LimitWarning:
    usage: Usage
    customer: Customer | None = None  # None: an organization-wide cap


@dataclass(frozen=True)
class FailedExecution:
    log: ExecutionLog
    customer: Customer


@dataclass
class Overview:
    customers: CustomerTallies | None = None
    usage: UsageSummary | None = None
    warnings: list[LimitWarning] | None = None
    failures: list[FailedExecution] | None = None
    failures_today: int = 0
    join_requests: list[object] | None = None
    join_request_count: int = 0
    invitations: list[object] | None = None
    invitation_count: int = 0

    @property
    def is_empty(self) -> bool:
        return all(
            card is None
            for card in (
                self.customers,
                self.usage,
                self.warnings,
                self.failures,
                self.join_requests,
            )
        )


def organization_overview(*, tenant: Tenant) -> Overview:
    """The cards ``tenant``'s member may see, read in the request's scope."""
    organization = tenant.organization
    overview = Overview()
    if tenant.can("customers.read"):
        overview.customers = customer_tallies()
    reads_regions = tenant.can("billing.read") or tenant.can("executions.read")
    # Where each live customer's rows are, read once for every card that asks the regions.
    placement = customers_by_region() if reads_regions else {}
    if tenant.can("billing.read"):
        candidates = limit_candidates(organization=organization, placement=placement)
        rows = customers_usage(organization=organization, customers=candidates)
        overview.usage = usage_summary(organization=organization, rows=rows)
        overview.warnings = limit_warnings(organization=organization, rows=rows)
    if tenant.can("executions.read"):
        overview.failures, overview.failures_today = recent_failures(placement=placement)
    if tenant.can(catalog.MANAGE_MEMBERS):
        requests = join_request_list()
        invitations = invitation_list()
        overview.join_requests = list(requests[:RECENT])
        overview.join_request_count = requests.count()
        overview.invitations = list(invitations[:RECENT])
        overview.invitation_count = invitations.count()
    return overview


def customer_tallies() -> CustomerTallies:
    """Live customers by status and by region: one aggregate query."""
    rows = Customer.objects.live().values_list("status", "region").annotate(n=Count("id"))
    by_status: Counter[str] = Counter()
    by_region: Counter[str] = Counter()
    for status, region, n in rows:
        by_status[status] += n
        by_region[region] += n
    return CustomerTallies(
        total=sum(by_status.values()),
        by_status=[
            Tally(value, label, by_status[value])
            for value, label in CustomerStatus.choices
            if by_status[value]
        ],
        by_region=[
            Tally(value, label, by_region[value])
            for value, label in Region.choices
            if by_region[value]
        ],
    )


def _today() -> date:
    return timezone.now().date()


def _busiest_today() -> list[uuid.UUID]:
    """Customers with the most events or API calls today (at most ``BUSIEST`` per kind)."""
    ids: dict[uuid.UUID, None] = {}
    for kind in DAILY_LIMITS:
        rows = (
            UsageRecord.objects.filter(day=_today(), kind=kind, subject_customer_id__isnull=False)
            .values("subject_customer_id")
            .annotate(total=Sum("count"))
            .order_by("-total")[:BUSIEST]
        )
        ids.update(
            dict.fromkeys(
                customer_id for row in rows if (customer_id := row["subject_customer_id"])
            )
        )
    return list(ids)


def limit_candidates(
    *, organization: Organization, placement: Placement | None = None
) -> list[Customer]:
    """The customers that could be near a per-customer limit: today's busiest, those with an
    override, those with many connections or workflows (a bounded number of queries)."""
    if placement is None:
        placement = customers_by_region()
    wanted = (
        set(_busiest_today())
        | set(CustomerLimitOverride.objects.values_list("customer_id", flat=True).distinct())
        | _near_count_limits(organization, placement)
    )
    return list(Customer.objects.live().filter(id__in=wanted).order_by("name", "id"))


def usage_summary(*, organization: Organization, rows: list[CustomerUsage]) -> UsageSummary:
    """Today's and this week's events and API calls (the source of the API's ``/usage``), and
    the customers of ``rows`` fullest against a daily limit today."""
    days = usage_daily(organization=organization, days=7)
    week = DailyUsage(
        day=days[0].day,
        api_calls=sum(day.api_calls for day in days),
        events=sum(day.events for day in days),
    )
    daily_keys = set(DAILY_LIMITS.values())
    ranked = []
    for row in rows:
        daily = [usage for usage in row.usages if usage.key in daily_keys and usage.used]
        if daily:
            ranked.append((row.customer, max(daily, key=lambda usage: usage.ratio)))
    ranked.sort(key=lambda pair: (-pair[1].ratio, pair[0].name))
    return UsageSummary(today=days[-1], week=week, days=days, busiest=ranked[:RECENT])


def _near_count_limits(organization: Organization, placement: Placement) -> set[uuid.UUID]:
    """Customers whose connections or workflows reach 80 % of the lowest limit any customer
    has for them (the plan's or an override): one query per region and limit."""
    lowest = dict(
        CustomerLimitOverride.objects.filter(limit_key__in=COUNT_LIMITS)
        .values_list("limit_key")
        .annotate(low=Min("value"))
    )
    ids: set[uuid.UUID] = set()
    for key, model in COUNT_LIMITS.items():
        plan = plan_limit(organization=organization, key=key)
        limit = min(plan, lowest.get(key, plan))
        threshold = max(1, math.ceil(limit * WARN_AT))
        for near in each_region(
            partial(_reaching, threshold=threshold), model, placement=placement
        ):
            ids.update(near)
    return ids


def _reaching(rows: QuerySet[Any], threshold: int) -> list[uuid.UUID]:
    """The customers with at least ``threshold`` of ``rows``."""
    grouped = rows.values("customer_id").annotate(n=Count("id")).filter(n__gte=threshold)
    return [row["customer_id"] for row in grouped]


def limit_warnings(*, organization: Organization, rows: list[CustomerUsage]) -> list[LimitWarning]:
    """Every limit at 80 % or more, fullest first: the organization's caps and the
    per-customer limits of ``rows`` (``customers_usage`` of ``limit_candidates``)."""
    warnings = [
        LimitWarning(usage)
        for usage in organization_usage(organization=organization)
        if usage.level != "ok"
    ]
    for row in rows:
        warnings += [LimitWarning(u, row.customer) for u in row.usages if u.level != "ok"]
    warnings.sort(key=lambda w: (-w.usage.ratio, w.customer.name if w.customer else ""))
    return warnings


def recent_failures(*, placement: Placement | None = None) -> tuple[list[FailedExecution], int]:
    """The newest failed or timed-out executions of the last week across the regions, and how
    many failed in the last 24 hours: one query per region (the count is a window over the
    week's failures, every one of the last day's among them), one for the customers' names."""
    now = timezone.now()

    def newest_failures(rows: QuerySet[ExecutionLog]) -> tuple[int, list[ExecutionLog]]:
        failed = rows.filter(status__in=FAILED, created_at__gte=now - FAILURE_WINDOW).annotate(
            failed_today=Window(Count("id", filter=Q(created_at__gte=now - timedelta(days=1))))
        )
        newest_here: list[Any] = list(failed.order_by("-created_at", "-id")[:RECENT])
        return (newest_here[0].failed_today if newest_here else 0), newest_here

    regions = each_region(newest_failures, ExecutionLog, placement=placement)
    today = sum(count for count, _ in regions)
    streams = [stream for _, stream in regions]
    newest = list(heapq.merge(*streams, key=lambda log: log.created_at, reverse=True))[:RECENT]
    customers = Customer.objects.in_bulk({log.customer_id for log in newest})
    return [
        FailedExecution(log, customers[log.customer_id])
        for log in newest
        if log.customer_id in customers
    ], today
