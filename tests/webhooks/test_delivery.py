"""Delivering events: signed requests, the retry schedule, bad receivers, disabling.

The attempts run in this process (the task functions called directly, in ``transaction=True``
tests so no transaction is open around the HTTP call) against the local receiver, with the
clock moved by rewriting the rows' times; ``test_worker.py`` runs the same path on a real
Celery worker.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import ALL_DATABASES
from tests.factories import make_customer
from tests.webhooks.conftest import in_org, make_endpoint
from webhooks import signing
from webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from webhooks.services import event_body, event_payload, next_attempt_at
from webhooks.tasks import deliver_task, dispatch_event_task

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


@pytest.fixture(autouse=True)
def nothing_queued(monkeypatch) -> None:
    """These tests run each step themselves: no task reaches a worker that the session may
    have running (it would deliver the same rows concurrently)."""
    monkeypatch.setattr("webhooks.services.outbox.publish_on_commit", lambda *a, **k: None)
    monkeypatch.setattr("webhooks.services.delivery._queue", lambda *a, **k: None)


def _customer_event(world, receiver, path="/ok"):
    """An endpoint on ``path`` of the receiver and a customer.created event fanned out to it."""
    endpoint = make_endpoint(world.org, url=receiver.url(path))
    make_customer(world.org, "Initech")
    with in_org(world.org):
        event = WebhookEvent.objects.get(event_type="customer.created")
    dispatch_event_task(org_id=str(world.org.id), event_id=str(event.id))
    with in_org(world.org):
        delivery = WebhookDelivery.objects.get(endpoint_id=endpoint.id)
    return endpoint, event, delivery


def _deliver(world, delivery) -> str:
    return deliver_task(org_id=str(world.org.id), delivery_id=str(delivery.id))


def _reload(world, delivery):
    with in_org(world.org):
        return WebhookDelivery.objects.select_related("endpoint").get(id=delivery.id)


def _attempts(world, delivery):
    with in_org(world.org):
        return list(WebhookAttempt.objects.filter(delivery_id=delivery.id).order_by("number"))


def _due_now(world, delivery, **times) -> None:
    with in_org(world.org):
        WebhookDelivery.objects.filter(id=delivery.id).update(
            next_attempt_at=timezone.now(), **times
        )


def test_a_customer_change_reaches_the_endpoint_signed(world, receiver, local_outbound) -> None:
    endpoint, event, delivery = _customer_event(world, receiver)
    assert _deliver(world, delivery) == DeliveryStatus.DELIVERED
    [request] = receiver.received("/ok")
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["webhook-id"] == event.message_id
    assert signing.verify(
        secret=endpoint.secret,
        message_id=headers["webhook-id"],
        timestamp=int(headers["webhook-timestamp"]),
        body=request["body"],
        header=headers["webhook-signature"],
    )
    assert request["body"] == event_body(event_payload(event))
    body = json.loads(request["body"])
    assert body["type"] == "customer.created"
    assert body["data"]["customer"]["name"] == "Initech"
    [attempt] = _attempts(world, delivery)
    assert (attempt.status_code, attempt.error) == (200, "")
    assert '"received": true' in attempt.response_excerpt


def test_a_500_is_logged_and_retried_on_the_schedule(world, receiver, local_outbound) -> None:
    _, _, delivery = _customer_event(world, receiver, "/fail")
    before = timezone.now()
    assert _deliver(world, delivery) == DeliveryStatus.PENDING
    failed = _reload(world, delivery)
    assert failed.last_status_code == 500
    assert failed.last_error == "The endpoint answered HTTP 500."
    assert timedelta(seconds=4) < failed.next_attempt_at - before < timedelta(seconds=7)
    [attempt] = _attempts(world, delivery)
    assert attempt.response_excerpt == "Internal error: database on fire"
    assert failed.endpoint.failing_since is not None
    # A duplicate task before the next try is due sends nothing.
    assert _deliver(world, delivery) == "skipped"
    assert len(receiver.received("/fail")) == 1


def test_a_delivery_fails_for_good_when_the_24_hour_window_ends(
    world, receiver, local_outbound
) -> None:
    _, _, delivery = _customer_event(world, receiver, "/fail")
    _deliver(world, delivery)
    _due_now(world, delivery, first_attempt_at=timezone.now() - timedelta(hours=24, seconds=1))
    assert _deliver(world, delivery) == DeliveryStatus.FAILED
    ended = _reload(world, delivery)
    assert ended.next_attempt_at is None and ended.attempt_count == 2
    assert len(_attempts(world, delivery)) == 2


def test_a_timeout_is_logged_with_its_deadline(world, receiver, local_outbound) -> None:
    local_outbound.WEBHOOK_TIMEOUT_SECONDS = 0.5
    _, _, delivery = _customer_event(world, receiver, "/slow")
    assert _deliver(world, delivery) == DeliveryStatus.PENDING
    [attempt] = _attempts(world, delivery)
    assert attempt.outcome == "timeout"
    assert attempt.error == "Timed out: No complete response within 0.5 s."
    assert attempt.duration_ms < 2000
    assert _reload(world, delivery).lease_until is None


def test_a_redirect_is_not_followed_and_says_so(world, receiver, local_outbound) -> None:
    _, _, delivery = _customer_event(world, receiver, "/redirect")
    assert _deliver(world, delivery) == DeliveryStatus.PENDING
    [attempt] = _attempts(world, delivery)
    assert attempt.status_code == 302
    assert attempt.error == (
        "The endpoint redirected (HTTP 302 to https://elsewhere.example.test/hook). Webhooks "
        "do not follow redirects: enter the final URL."
    )
    assert len(receiver.received()) == 1


def test_an_address_the_guard_refuses_is_never_called(world, receiver, local_outbound) -> None:
    _, _, delivery = _customer_event(world, receiver)
    local_outbound.OUTBOUND_ALLOW_HTTP_LOCALHOST = False
    assert _deliver(world, delivery) == DeliveryStatus.PENDING
    [attempt] = _attempts(world, delivery)
    assert attempt.outcome == "refused" and attempt.error.startswith("Not sent: ")
    assert receiver.received() == []


def test_an_endpoint_failing_for_24_hours_is_disabled_and_its_owner_emailed(
    world, receiver, local_outbound, mailoutbox
) -> None:
    endpoint, _, delivery = _customer_event(world, receiver, "/fail")
    _deliver(world, delivery)
    with in_org(world.org):
        WebhookEndpoint.objects.filter(id=endpoint.id).update(
            failing_since=timezone.now() - timedelta(hours=24, seconds=1)
        )
        second = WebhookDelivery.objects.create(
            org=world.org, endpoint_id=endpoint.id, event_id=delivery.event_id
        )
    _due_now(world, delivery)
    _deliver(world, delivery)
    with in_org(world.org):
        disabled = WebhookEndpoint.objects.get(id=endpoint.id)
    assert not disabled.is_active and "24 hours" in disabled.disabled_reason
    assert _reload(world, second).status == DeliveryStatus.CANCELLED
    [mail] = mailoutbox
    assert mail.to == [world.org.owner.email]
    assert "disabled" in mail.subject and "127.0.0.1" in mail.body
    assert receiver.url("/fail") not in mail.body  # the host, not the whole URL


def test_a_success_clears_the_failure_clock(world, receiver, local_outbound) -> None:
    endpoint, _, delivery = _customer_event(world, receiver, "/fail")
    _deliver(world, delivery)
    with in_org(world.org):
        WebhookEndpoint.objects.filter(id=endpoint.id).update(url=receiver.url("/ok"))
    _due_now(world, delivery)
    assert _deliver(world, delivery) == DeliveryStatus.DELIVERED
    with in_org(world.org):
        assert WebhookEndpoint.objects.get(id=endpoint.id).failing_since is None


def test_an_event_is_fanned_out_once(world, receiver, local_outbound) -> None:
    _, event, _ = _customer_event(world, receiver)
    assert dispatch_event_task(org_id=str(world.org.id), event_id=str(event.id)) == 0
    with in_org(world.org):
        assert WebhookDelivery.objects.count() == 1


def test_the_retry_schedule_spans_24_hours(settings) -> None:
    settings.WEBHOOK_RETRY_DELAYS = [5, 300, 1800, 7200, 18000, 36000]
    settings.WEBHOOK_RETRY_WINDOW_SECONDS = 24 * 3600
    start = timezone.now()
    delivery = WebhookDelivery(first_attempt_at=start, attempt_count=0)
    now, waits = start, []
    while True:
        delivery.attempt_count += 1
        following = next_attempt_at(delivery, now)
        if following is None:
            break
        waits.append(following - now)
        now = following
    assert [w.total_seconds() for w in waits[:6]] == [5, 300, 1800, 7200, 18000, 36000]
    assert now - start == timedelta(hours=24)
    assert len(waits) == 7  # then the one at 24 h, and no more
