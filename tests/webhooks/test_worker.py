"""End to end on a real Celery worker: the outbox row commits, the worker fans it out and
delivers it to the local receiver; the beat sweep delivers what never reached the broker."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from roles.catalog import OWNER
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer
from tests.webhooks.conftest import in_org, make_endpoint
from webhooks import signing
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent
from webhooks.tasks import sweep_task

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


def _wait_for_delivery(org, *, status: str, seconds: float = 30.0) -> WebhookDelivery:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with in_org(org):
            found = WebhookDelivery.objects.filter(status=status).select_related("event").first()
        if found is not None:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no {status} delivery after {seconds} s")


def _verified(endpoint, request) -> bool:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return signing.verify(
        secret=endpoint.secret,
        message_id=headers["webhook-id"],
        timestamp=int(headers["webhook-timestamp"]),
        body=request["body"],
        header=headers["webhook-signature"],
    )


def test_the_worker_delivers_a_new_customer(world, receiver, local_outbound, celery_worker) -> None:
    endpoint = make_endpoint(world.org, url=receiver.url("/ok"))
    make_customer(world.org, "Globochem")
    [request] = receiver.wait_for(1, "/ok")
    assert _verified(endpoint, request)
    delivery = _wait_for_delivery(world.org, status=DeliveryStatus.DELIVERED)
    assert delivery.event.event_type == "customer.created" and delivery.attempt_count == 1


def test_send_test_event_from_the_console(world, receiver, local_outbound, celery_worker) -> None:
    endpoint = make_endpoint(world.org, url=receiver.url("/ok"))
    response = world.client(OWNER).post(world.settings_url(f"webhooks/{endpoint.id}/test/"))
    assert response.status_code == 302
    [request] = receiver.wait_for(1, "/ok")
    assert _verified(endpoint, request) and b'"webhook.test"' in request["body"]
    _wait_for_delivery(world.org, status=DeliveryStatus.DELIVERED)


def test_a_500_is_logged_by_the_worker_and_tried_again(
    world, receiver, local_outbound, celery_worker
) -> None:
    make_endpoint(world.org, url=receiver.url("/fail"))
    make_customer(world.org, "Soylent")
    receiver.wait_for(2, "/fail", seconds=30)  # the first try, and the one 5 s later
    with in_org(world.org):
        delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempt_count >= 2
    assert delivery.last_error == "The endpoint answered HTTP 500."


def test_the_sweep_delivers_events_whose_task_never_reached_the_broker(
    world, receiver, local_outbound, celery_worker
) -> None:
    endpoint = make_endpoint(world.org, url=receiver.url("/ok"))
    with in_org(world.org):
        # As if the broker had been down at commit: the row is there, no task was sent.
        event = WebhookEvent.objects.create(
            org=world.org, event_type="customer.created", data={"customer": None}
        )
        WebhookEvent.objects.filter(id=event.id).update(
            created_at=timezone.now() - timedelta(minutes=5)
        )
    assert sweep_task() >= 1
    [request] = receiver.wait_for(1, "/ok")
    assert _verified(endpoint, request)
    delivery = _wait_for_delivery(world.org, status=DeliveryStatus.DELIVERED)
    assert delivery.event_id == event.id
