"""Delivering events: fan-out, one attempt at a time, retries for 24 hours, and the sweep.

Each attempt is the ``signup`` pipeline's shape (lock, return if already done, record):

1. ``delivery_attempt_begin`` (in the organization's scope) locks the delivery, returns
   ``None`` unless it is pending, due and not in flight, takes a lease for the attempt and
   commits — so a duplicate task, or the sweep, never sends the same attempt twice;
2. ``delivery_attempt_send`` makes the HTTP call through the SSRF-guarded outbound client,
   with no transaction open and within ``WEBHOOK_TIMEOUT_SECONDS`` in all;
3. ``delivery_attempt_finish`` (a new scope) records the attempt, then either ends the delivery
   or schedules the next try: ``WEBHOOK_RETRY_DELAYS`` after each failure, a last one
   ``WEBHOOK_RETRY_WINDOW_SECONDS`` after the first, then ``failed``. An endpoint whose attempts
   have all failed for ``WEBHOOK_DISABLE_AFTER_SECONDS`` is disabled and its Owner emailed.

Nothing here logs a URL, a header or a body: a receiver's URL may hold a token of its own.
"""

from __future__ import annotations

import json
import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from audit import actions
from audit.services import audit_record
from customers.models import Organization
from dataplane import outbound
from dataplane.encryption import decrypt_credentials
from tenancy.context import on_commit
from tenancy.tasks import publish, publish_on_commit
from webhooks import queued, signing
from webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

LEASE_MARGIN = timedelta(seconds=30)
# A task may arrive a little before its countdown by the worker's clock.
DUE_SLACK = timedelta(seconds=1)


def webhook_event_dispatch(*, event_id: uuid.UUID | str) -> list[uuid.UUID]:
    """Fan one outbox row out: a delivery per active endpoint subscribed to its type, queued
    after the commit. Idempotent: an event is dispatched once (``dispatched_at``, under lock)."""
    event = WebhookEvent.objects.select_for_update().filter(id=event_id).first()
    if event is None or event.dispatched_at is not None:
        return []
    now = timezone.now()
    endpoints = WebhookEndpoint.objects.filter(
        status=EndpointStatus.ACTIVE, event_types__contains=[event.event_type]
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                org_id=event.org_id, endpoint=endpoint, event=event, next_attempt_at=now
            )
            for endpoint in endpoints
        ]
    )
    event.dispatched_at = now
    event.save(update_fields=["dispatched_at"])
    for delivery in deliveries:
        _queue(delivery)
    return [delivery.id for delivery in deliveries]


def _queue(delivery: WebhookDelivery, countdown: float = 0) -> None:
    kwargs = {"org_id": str(delivery.org_id), "delivery_id": str(delivery.id)}
    if countdown <= 0:
        publish_on_commit(queued.deliver, kwargs=kwargs)
        return

    def later() -> None:
        # tenancy.tasks.publish, with a countdown: bounded by the broker's timeouts, logged on
        # failure; the sweep queues the delivery when it is overdue.
        try:
            queued.deliver.apply_async(kwargs=kwargs, countdown=countdown, retry=False)
        except Exception:  # any broker failure: the pending delivery waits for the sweep
            logger.exception("Could not queue the next try of delivery %s", delivery.id)

    on_commit(later)


@dataclass(frozen=True)
class PlannedAttempt:
    org_id: uuid.UUID
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    number: int
    url: str
    headers: dict[str, str]
    payload: dict[str, Any]
    started_at: datetime


def event_payload(event: WebhookEvent) -> dict[str, Any]:
    """The body every delivery of ``event`` sends (Standard Webhooks' ``type`` / ``timestamp``
    / ``data``)."""
    return {
        "type": event.event_type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }


def event_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes the outbound client sends for ``json_body=payload`` — what is signed.
    (``dataplane.outbound.request`` encodes a JSON body with ``json.dumps`` and its defaults;
    the tests verify received signatures, so a change there shows at once.)"""
    return json.dumps(payload).encode()


def delivery_attempt_begin(*, delivery_id: uuid.UUID | str) -> PlannedAttempt | None:
    delivery = (
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("endpoint", "event")
        .filter(id=delivery_id)
        .first()
    )
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    now = timezone.now()
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > now + DUE_SLACK:
        return None  # not due: a duplicate of an earlier try's task
    if delivery.lease_until is not None and delivery.lease_until > now:
        return None  # an attempt is in flight
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        delivery.status, delivery.last_error = DeliveryStatus.CANCELLED, "The endpoint is disabled."
        delivery.next_attempt_at = None
        delivery.save(update_fields=["status", "last_error", "next_attempt_at"])
        return None
    delivery.attempt_count += 1
    delivery.first_attempt_at = delivery.first_attempt_at or now
    delivery.lease_until = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS) + LEASE_MARGIN
    delivery.save(update_fields=["attempt_count", "first_attempt_at", "lease_until"])
    payload = event_payload(delivery.event)
    secret = decrypt_credentials(endpoint.secret_encrypted)["secret"]
    headers = signing.headers(
        secret=secret,
        message_id=delivery.event.message_id,
        timestamp=int(now.timestamp()),
        body=event_body(payload),
    )
    return PlannedAttempt(
        org_id=delivery.org_id,
        delivery_id=delivery.id,
        endpoint_id=endpoint.id,
        number=delivery.attempt_count,
        url=endpoint.url,
        headers=headers,
        payload=payload,
        started_at=now,
    )


def delivery_attempt_send(planned: PlannedAttempt) -> outbound.OutboundResult:
    """The HTTP call, outside any transaction: redirects are not followed, the whole call has
    one deadline and the response is read up to ``WEBHOOK_MAX_RESPONSE_BYTES``."""
    return outbound.request(
        "POST",
        planned.url,
        headers=planned.headers,
        json_body=planned.payload,
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
        max_bytes=settings.WEBHOOK_MAX_RESPONSE_BYTES,
    )


def attempt_verdict(result: outbound.OutboundResult) -> tuple[bool, str]:
    """Whether the receiver took the event (any 2xx), and what the log says otherwise."""
    code = result.status_code
    if result.ok or (result.outcome == outbound.TOO_LARGE and code and 200 <= code < 300):
        return True, ""
    if result.outcome == outbound.HTTP_ERROR and code and 300 <= code < 400:
        location = result.headers.get("location", "")[:200]
        to = f" to {location}" if location else ""
        return False, (
            f"The endpoint redirected (HTTP {code}{to}). Webhooks do not follow redirects: "
            "enter the final URL."
        )
    if result.outcome == outbound.HTTP_ERROR:
        return False, f"The endpoint answered HTTP {code}."
    if result.outcome == outbound.TIMEOUT:
        return False, f"Timed out: {result.error}"
    if result.outcome == outbound.REFUSED:
        return False, f"Not sent: {result.error}"
    return False, result.error or "The call failed."


def _excerpt(result: outbound.OutboundResult) -> str:
    if result.outcome == outbound.TOO_LARGE:
        return f"(The response was longer than {settings.WEBHOOK_MAX_RESPONSE_BYTES:,} bytes.)"
    return result.text(settings.WEBHOOK_RESPONSE_EXCERPT_CHARS)


def next_attempt_at(delivery: WebhookDelivery, now: datetime) -> datetime | None:
    """When to try again after the ``attempt_count``-th attempt failed at ``now``; ``None``
    once the retry window has been used up."""
    if not delivery.retries or delivery.first_attempt_at is None:
        return None
    window_end = delivery.first_attempt_at + timedelta(
        seconds=settings.WEBHOOK_RETRY_WINDOW_SECONDS
    )
    if now >= window_end:
        return None
    delays = settings.WEBHOOK_RETRY_DELAYS
    index = delivery.attempt_count - 1
    if index >= len(delays):
        return window_end
    return min(now + timedelta(seconds=delays[index]), window_end)


def delivery_attempt_finish(*, planned: PlannedAttempt, result: outbound.OutboundResult) -> str:
    """Record the attempt and decide what follows; the delivery's status afterwards."""
    delivery = WebhookDelivery.objects.select_for_update().filter(id=planned.delivery_id).first()
    endpoint = WebhookEndpoint.objects.select_for_update().filter(id=planned.endpoint_id).first()
    if delivery is None or endpoint is None:
        return "gone"  # the endpoint was deleted meanwhile, with its log
    succeeded, error = attempt_verdict(result)
    WebhookAttempt.objects.create(
        org_id=planned.org_id,
        delivery=delivery,
        number=planned.number,
        started_at=planned.started_at,
        duration_ms=result.duration_ms,
        outcome=result.outcome,
        status_code=result.status_code,
        error=error[:300],
        response_excerpt=_excerpt(result),
    )
    now = timezone.now()
    delivery.last_attempt_at, delivery.lease_until = planned.started_at, None
    delivery.last_status_code, delivery.last_error = result.status_code, error[:300]
    if succeeded:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.DELIVERED, None
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            endpoint.save(update_fields=["failing_since"])
    else:
        delivery.next_attempt_at = next_attempt_at(delivery, now)
        if delivery.next_attempt_at is None:
            delivery.status = DeliveryStatus.FAILED
        _endpoint_failed(endpoint, planned.started_at, now)
    delivery.save()
    if delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is not None:
        wait = (delivery.next_attempt_at - now).total_seconds()
        if wait <= settings.WEBHOOK_COUNTDOWN_MAX_SECONDS:
            _queue(delivery, countdown=max(wait, 0.001))
    return str(delivery.status)


def _endpoint_failed(endpoint: WebhookEndpoint, failed_at: datetime, now: datetime) -> None:
    if endpoint.failing_since is None:
        endpoint.failing_since = failed_at
        endpoint.save(update_fields=["failing_since"])
        return
    failing_for = (now - endpoint.failing_since).total_seconds()
    if endpoint.is_active and failing_for >= settings.WEBHOOK_DISABLE_AFTER_SECONDS:
        webhook_endpoint_disable(endpoint=endpoint, now=now)


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, now: datetime) -> None:
    """Disable an endpoint that kept failing, stop its pending deliveries, email the Owner."""
    hours = settings.WEBHOOK_DISABLE_AFTER_SECONDS / 3600
    endpoint.status, endpoint.disabled_at = EndpointStatus.DISABLED, now
    endpoint.disabled_reason = f"Every delivery failed for {hours:g} hours."
    endpoint.save(update_fields=["status", "disabled_at", "disabled_reason"])
    WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED,
        next_attempt_at=None,
        last_error="The endpoint was disabled.",
    )
    audit_record(
        actor=None,
        action=actions.WEBHOOK_ENDPOINT_DISABLE,
        target_type="webhook_endpoint",
        target_id=endpoint.id,
        after={"status": endpoint.status, "host": outbound.host_key(endpoint.url)},
    )
    organization = Organization.objects.select_related("owner").get(id=endpoint.org_id)
    link = settings.SIGNUP_PUBLIC_URL.rstrip("/") + reverse(
        "webhooks:endpoint_detail",
        kwargs={"org_slug": organization.slug, "endpoint_id": endpoint.id},
    )
    subject = f"Webhook endpoint disabled in {organization.name}"
    body = (
        f"The webhook endpoint for {outbound.host_key(endpoint.url)}"
        f"{' (' + endpoint.description + ')' if endpoint.description else ''} of "
        f"{organization.name} has failed every delivery for {hours:g} hours, so Fastn Console "
        f"has disabled it. Events are no longer sent to it.\n\nSee its delivery log and enable "
        f"it again once it answers: {link}\n"
    )
    recipient = organization.owner.email

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
        except (OSError, smtplib.SMTPException):
            logger.exception("Could not email the owner about disabled endpoint %s", endpoint.id)

    on_commit(send)


def webhooks_sweep_organization(*, now: datetime | None = None) -> int:
    """In one organization's scope: fan out events whose task never ran, queue deliveries that
    are overdue (their task lost, or a delay too long for a countdown). Returns how many."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_SECONDS)
    sent = 0
    stale_events = WebhookEvent.objects.filter(
        dispatched_at__isnull=True, created_at__lte=now - grace
    ).values_list("org_id", "id")[:500]
    for org_id, event_id in stale_events:
        sent += publish(
            queued.dispatch_event, kwargs={"org_id": str(org_id), "event_id": str(event_id)}
        )
    overdue = WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lte=now - grace
    ).exclude(lease_until__gt=now)
    for org_id, delivery_id in overdue.values_list("org_id", "id")[:500]:
        sent += publish(
            queued.deliver, kwargs={"org_id": str(org_id), "delivery_id": str(delivery_id)}
        )
    # Deliveries whose next try is far off are not queued with a countdown (see _queue).
    due = WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now,
        next_attempt_at__gt=now - grace,
        attempt_count__gt=0,
    ).exclude(lease_until__gt=now)
    for delivery in due.only("org_id", "id", "next_attempt_at", "last_attempt_at")[:500]:
        waited = (delivery.next_attempt_at or now) - (delivery.last_attempt_at or now)
        if waited.total_seconds() > settings.WEBHOOK_COUNTDOWN_MAX_SECONDS:
            sent += publish(
                queued.deliver,
                kwargs={"org_id": str(delivery.org_id), "delivery_id": str(delivery.id)},
            )
    return sent
