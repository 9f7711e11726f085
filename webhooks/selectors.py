"""Reads of the webhooks app: endpoints, their delivery log, and the limit banner."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from customers.models import Customer
from customers.plans import LIMIT_LABELS
from webhooks.models import (
    LimitNotice,
    NoticeLevel,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


def endpoint_list(*, search: str = "") -> QuerySet[WebhookEndpoint]:
    endpoints = WebhookEndpoint.objects.all()
    if search:
        endpoints = endpoints.filter(
            Q(url__icontains=search)
            | Q(description__icontains=search)
            | Q(event_types__icontains=search)
        )
    return endpoints.order_by("created_at")


def endpoint_deliveries(
    endpoint: WebhookEndpoint, *, status: str = ""
) -> QuerySet[WebhookDelivery]:
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("-created_at")


def delivery_attempts(delivery: WebhookDelivery) -> QuerySet[WebhookAttempt]:
    return WebhookAttempt.objects.filter(delivery=delivery).order_by("-number")


@dataclass(frozen=True)
class LimitBanner:
    customer_name: str
    label: str
    share: str
    reached: bool
    count: int
    limit: int


def limit_banners(*, limit: int = 3) -> list[LimitBanner]:
    """Notices of windows still open, the most severe per (customer, limit) first."""
    now = timezone.now()
    notices = list(
        LimitNotice.objects.filter(window_end__gt=now).order_by("-level", "-created_at")[:50]
    )
    if not notices:
        return []
    customer_ids = {n.subject_customer_id for n in notices if n.subject_customer_id}
    names = dict(Customer.objects.live().filter(id__in=customer_ids).values_list("id", "name"))
    seen: set[tuple[object, str]] = set()
    banners = []
    # "warning" sorts after "reached" descending; keep one per (customer, limit).
    for notice in sorted(notices, key=lambda n: n.level != NoticeLevel.REACHED):
        key = (notice.subject_customer_id, notice.limit_key)
        if key in seen:
            continue
        if notice.subject_customer_id and notice.subject_customer_id not in names:
            continue  # deleted since
        seen.add(key)
        banners.append(
            LimitBanner(
                customer_name=names.get(notice.subject_customer_id, "")
                if notice.subject_customer_id
                else "Calls without a customer",
                label=LIMIT_LABELS[notice.limit_key],
                share="100 %" if notice.level == NoticeLevel.REACHED else "80 %",
                reached=notice.level == NoticeLevel.REACHED,
                count=notice.count,
                limit=notice.limit,
            )
        )
    return banners[:limit]
