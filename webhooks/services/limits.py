"""Limit notifications (SPEC §12): a customer at 80 % or 100 % of a rate limit in its window.

The API's rate limiter counts atomically in Redis (``api.ratelimit``), so exactly one call
crosses each threshold in a window; ``limit_notices_record`` (called from ``api.auth.charge``
with the limiter's decision) sees that crossing, or a refusal, and writes a ``LimitNotice``
— unique per (customer, limit, level, window), so a restart or a second web process never
notifies twice. The notice, in the request's transaction, brings with it:

- the webhook event ``limit.warning`` / ``limit.reached`` (the outbox);
- an email to the members holding ``billing.manage``, sent by a task after the commit, once per
  window — and for per-minute limits at most once per UTC day, or a busy customer would mail
  its organization every minute;
- the console banner, which lists the notices of windows still open (``selectors``).

Refused calls go on arriving once a limit is reached; a Redis key per notice (expiring with its
window) spares the database an insert attempt for each of them.
"""

from __future__ import annotations

import logging
import math
import smtplib
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from api.ratelimit import LIMIT_WINDOWS, MINUTE, Decision, window
from customers.models import Customer, Organization
from customers.plans import LIMIT_LABELS
from roles import catalog
from roles.models import Membership, MembershipStatus
from roles.selectors import has_permission
from tenancy.context import on_commit, scope_aliases
from tenancy.tasks import publish_on_commit
from webhooks import events, queued
from webhooks.models import LimitNotice, NoticeLevel
from webhooks.services.outbox import webhook_event_record

logger = logging.getLogger(__name__)

THRESHOLDS = ((NoticeLevel.WARNING, 0.8), (NoticeLevel.REACHED, 1.0))
EVENT_OF_LEVEL: dict[str, str] = {
    NoticeLevel.WARNING: events.LIMIT_WARNING,
    NoticeLevel.REACHED: events.LIMIT_REACHED,
}


def _crossed(decision: Decision, limit_key: str, amount: int) -> list[str]:
    """The levels this call crossed for one limit: the allowed call that moved the count over
    a threshold, or a refused call (the limit is reached)."""
    limit, count = decision.limits[limit_key], decision.counts.get(limit_key, 0)
    if limit <= 0:
        return []
    if not decision.allowed:
        return [NoticeLevel.REACHED] if limit_key in decision.refused else []
    before = count - amount
    return [level for level, share in THRESHOLDS if before < math.ceil(limit * share) <= count]


def limit_notices_record(
    *,
    organization: Organization,
    customer: Customer | None,
    decision: Decision,
    amounts: dict[str, int],
    now: float | None = None,
) -> list[LimitNotice]:
    """Notices for the thresholds this call crossed, in the current scope's transaction."""
    now = time.time() if now is None else now
    notices = []
    for limit_key in decision.limits:
        kind, _ = LIMIT_WINDOWS[limit_key]
        for level in _crossed(decision, limit_key, amounts.get(kind, 0)):
            notice = _notice(organization, customer, decision, limit_key, level, now)
            if notice is not None:
                notices.append(notice)
    return notices


def _notice(
    organization: Organization,
    customer: Customer | None,
    decision: Decision,
    limit_key: str,
    level: str,
    now: float,
) -> LimitNotice | None:
    w = window(limit_key, now)
    subject = customer.id if customer else None
    seen_key = f"limitnotice:{organization.id}:{subject or '-'}:{limit_key}:{level}:{w.start}"
    if not cache.add(seen_key, 1, timeout=max(1, math.ceil(w.end - now)) + 5):
        return None
    try:
        with transaction.atomic(using=scope_aliases()[0]):
            notice = LimitNotice.objects.create(
                org=organization,
                subject_customer_id=subject,
                limit_key=limit_key,
                level=level,
                window_start=datetime.fromtimestamp(w.start, UTC),
                window_end=datetime.fromtimestamp(w.end, UTC),
                count=decision.counts.get(limit_key, 0),
                limit=decision.limits[limit_key],
            )
    except IntegrityError:
        return None  # already noticed in this window (another process, or before a restart)
    webhook_event_record(
        event_type=EVENT_OF_LEVEL[level],
        customer_id=subject,
        data=notice_event_data(notice, customer),
    )

    publish_on_commit(
        queued.limit_notice_email,
        kwargs={"org_id": str(organization.id), "notice_id": str(notice.id)},
    )
    return notice


def notice_event_data(notice: LimitNotice, customer: Customer | None) -> dict[str, Any]:
    return {
        "customer": (
            {"id": str(customer.id), "name": customer.name, "external_id": customer.external_id}
            if customer
            else None
        ),
        "limit": {
            "name": notice.limit_key,
            "label": LIMIT_LABELS[notice.limit_key],
            "value": notice.limit,
            "count": notice.count,
            "threshold": "80%" if notice.level == NoticeLevel.WARNING else "100%",
            "window_start": notice.window_start.isoformat().replace("+00:00", "Z"),
            "window_end": notice.window_end.isoformat().replace("+00:00", "Z"),
        },
    }


def billing_managers(organization: Organization) -> list[str]:
    """Emails of the active members who hold ``billing.manage`` (``authorize``'s rules)."""
    members = Membership.objects.filter(status=MembershipStatus.ACTIVE).select_related("user")
    return sorted(
        member.user.email
        for member in members
        if has_permission(member, catalog.BILLING_MANAGE, organization)
    )


def _already_mailed_today(notice: LimitNotice) -> bool:
    day_start = notice.window_start.replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        LimitNotice.objects.filter(
            subject_customer_id=notice.subject_customer_id,
            limit_key=notice.limit_key,
            level=notice.level,
            window_start__gte=day_start,
            window_start__lt=day_start + timedelta(days=1),
            emailed_at__isnull=False,
        )
        .exclude(id=notice.id)
        .exists()
    )


def limit_notice_email(*, notice_id: uuid.UUID | str) -> int:
    """Email the billing managers about one notice, once; how many were emailed."""
    notice = LimitNotice.objects.select_for_update().filter(id=notice_id).first()
    if notice is None or notice.emailed_at is not None:
        return 0
    _, length = LIMIT_WINDOWS[notice.limit_key]
    if length == MINUTE and _already_mailed_today(notice):
        return 0
    organization = Organization.objects.get(id=notice.org_id)
    customer = (
        Customer.objects.filter(id=notice.subject_customer_id).first()
        if notice.subject_customer_id
        else None
    )
    recipients = billing_managers(organization)
    notice.emailed_at = timezone.now()
    notice.save(update_fields=["emailed_at"])
    if not recipients:
        return 0
    who = customer.name if customer else "Calls without a customer (organization-wide)"
    share = "80 %" if notice.level == NoticeLevel.WARNING else "100 %"
    label = LIMIT_LABELS[notice.limit_key]
    link = settings.SIGNUP_PUBLIC_URL.rstrip("/") + reverse(
        "billing:overview", kwargs={"org_slug": organization.slug}
    )
    subject = f"{who} is at {share} of {label} ({organization.name})"
    body = (
        f"{who} has used {notice.count:,} of {notice.limit:,} {label} in the window "
        f"that started {notice.window_start:%Y-%m-%d %H:%M} UTC and ends "
        f"{notice.window_end:%Y-%m-%d %H:%M} UTC."
        + (" Calls over the limit are refused with 429 until then." if share == "100 %" else "")
        + f"\n\nRaise the customer's limit or change the plan under Billing: {link}\n"
    )

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except (OSError, smtplib.SMTPException):
            logger.exception("Could not send the limit notice %s", notice.id)

    on_commit(send)
    return len(recipients)
