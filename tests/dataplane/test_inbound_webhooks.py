"""Inbound webhooks (SPEC §11 "Triggers"): each customer has its own URL and signing secret; a
delivery signed the Standard Webhooks way becomes one of its events and starts the workflows
deployed to prod that name it; a retry is stored once; whatever is refused stores nothing. The
secret is created and rotated on the customer's Events page by members who may edit customers."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from django.test import Client

from api import ratelimit
from audit import actions
from audit.models import AuditLogEntry
from customers.models import Customer, CustomerLimitOverride, CustomerStatus
from dataplane.models import Event, ExecutionLog
from roles import catalog
from tenancy.context import ORGANIZATION, context
from tests.api.conftest import wait_for_fresh_minute
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import add_workflow, deploy_workflow, in_customer
from tests.world import World
from webhooks import signing

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _hook(world: World, customer: Customer | None = None, name: str = "order.created") -> str:
    customer = customer or world.customer
    return f"/hooks/{world.org.slug}/{customer.id}/{name}"


def _secret(world: World, customer: Customer | None = None) -> str:
    """Create the customer's secret through the Events page, as the Owner, and read it there."""
    customer = customer or world.customer
    response = world.client(catalog.OWNER).post(
        world.customer_url(customer, "events/inbound-secret/")
    )
    assert response.status_code == 200
    page = response.content.decode()
    start = page.index('id="inbound-secret">') + len('id="inbound-secret">')
    return page[start : page.index("</code>", start)]


def _deliver(
    url: str,
    payload: Any,
    secret: str,
    *,
    message_id: str | None = None,
    timestamp: int | None = None,
    body: bytes | None = None,
    **extra: str,
) -> Any:
    body = json.dumps(payload).encode() if body is None else body
    headers = signing.headers(
        secret=secret,
        message_id=message_id or f"msg_{uuid.uuid4().hex}",
        timestamp=int(time.time()) if timestamp is None else timestamp,
        body=body,
    )
    return Client().post(url, body, content_type="application/json", headers={**headers, **extra})


def _events(world: World, customer: Customer | None = None) -> list[Event]:
    with in_customer(world.org, customer or world.customer):
        return list(Event.objects.order_by("created_at"))


def _runs(world: World) -> list[ExecutionLog]:
    with in_customer(world.org, world.customer):
        return list(ExecutionLog.objects.filter(source="workflow"))


def _triggered_workflow(world: World, event: str = "order.created") -> Any:
    workflow = add_workflow(
        world.org,
        world.customer,
        {
            "triggers": [{"event": event}],
            "steps": [{"name": "s", "url": "https://hooks.example/"}],
        },
        name=f"On {event}",
    )
    deploy_workflow(world.org, world.customer, workflow, "prod")
    return workflow


# --- Deliveries ---------------------------------------------------------------------------------


def test_a_signed_delivery_is_stored_as_an_event_and_starts_its_workflows(world: World) -> None:
    workflow = _triggered_workflow(world)
    response = _deliver(_hook(world), {"order": 42}, _secret(world))
    assert response.status_code == 202, response.content
    assert response.json()["runs"] == 1
    [event] = _events(world)
    assert (str(event.id), event.name, event.payload) == (
        response.json()["id"],
        "order.created",
        {"order": 42},
    )
    [run] = _runs(world)
    assert (run.workflow_id, run.trigger, run.event_id, run.environment) == (
        workflow.id,
        "webhook",
        event.id,
        "prod",
    )


def test_a_retry_of_the_same_message_is_answered_once_and_stored_once(world: World) -> None:
    secret = _secret(world)
    first = _deliver(_hook(world), {"n": 1}, secret, message_id="msg_retry_1")
    again = _deliver(_hook(world), {"n": 1}, secret, message_id="msg_retry_1")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {"duplicate": True}
    assert len(_events(world)) == 1


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"secret": "whsec_" + "A" * 32}, "No signature matches"),
        ({"timestamp": int(time.time()) - 600}, "within 5 minutes"),
        ({"timestamp": int(time.time()) + 600}, "within 5 minutes"),
        ({"HTTP_WEBHOOK_SIGNATURE": ""}, "are required"),
    ],
)
def test_a_delivery_that_does_not_verify_is_refused_and_stores_nothing(
    world: World, change: dict[str, Any], says: str
) -> None:
    secret = change.pop("secret", _secret(world))
    if "HTTP_WEBHOOK_SIGNATURE" in change:
        body = b'{"n": 1}'
        response = Client().post(
            _hook(world),
            body,
            content_type="application/json",
            headers={"webhook-id": "msg_1", "webhook-timestamp": str(int(time.time()))},
        )
    else:
        response = _deliver(_hook(world), {"n": 1}, secret, **change)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "invalid_signature" and says in error["message"]
    assert _events(world) == []


def test_another_customers_secret_does_not_open_this_customers_url(world: World) -> None:
    _secret(world)
    sibling_secret = _secret(world, world.second_customer)
    response = _deliver(_hook(world), {"n": 1}, sibling_secret)
    assert response.status_code == 401
    assert _events(world) == [] and _events(world, world.second_customer) == []


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "invalid_payload"),
        (b"[1, 2]", 400, "invalid_payload"),
        (json.dumps({"blob": "x" * (256 * 1024)}).encode(), 413, "payload_too_large"),
    ],
)
def test_a_payload_that_is_refused_stores_nothing(
    world: World, body: bytes, status: int, code: str
) -> None:
    _triggered_workflow(world)
    response = _deliver(_hook(world), None, _secret(world), body=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert _events(world) == [] and _runs(world) == []


def test_a_rotated_secret_replaces_the_old_one_at_once(world: World) -> None:
    old = _secret(world)
    new = _secret(world)
    assert old != new
    assert _deliver(_hook(world), {"n": 1}, old).status_code == 401
    assert _deliver(_hook(world), {"n": 1}, new).status_code == 202


def test_a_url_without_a_secret_or_of_nobody_does_not_exist(world: World) -> None:
    secret = _secret(world)
    without = _deliver(_hook(world, world.second_customer), {"n": 1}, secret)
    assert without.status_code == 404
    other_org = f"/hooks/{world.other_org.slug}/{world.customer.id}/order.created"
    assert _deliver(other_org, {"n": 1}, secret).status_code == 404
    unknown = f"/hooks/no-such-org/{world.customer.id}/order.created"
    assert _deliver(unknown, {"n": 1}, secret).status_code == 404
    assert Client().get(_hook(world)).status_code == 405


def test_a_suspended_customer_refuses_deliveries(world: World) -> None:
    secret = _secret(world)
    with context(org_id=world.org.id, role=ORGANIZATION):
        Customer.objects.filter(id=world.customer.id).update(status=CustomerStatus.SUSPENDED)
    response = _deliver(_hook(world), {"n": 1}, secret)
    assert response.status_code in (403, 409, 423)
    assert response.json()["error"]["code"] == "customer_suspended"
    assert _events(world) == []


# --- The secret on the Events page ---------------------------------------------------------------


def test_the_events_page_shows_the_url_and_whether_a_secret_is_set(world: World) -> None:
    page = world.client(catalog.OWNER).get(world.customer_url(suffix="events/"))
    text = page.content.decode()
    assert f"/hooks/{world.org.slug}/{world.customer.id}/&lt;event name&gt;" in text
    assert "No signing secret yet" in text and "Create signing secret" in text
    _secret(world)
    text = world.client(catalog.OWNER).get(world.customer_url(suffix="events/")).content.decode()
    assert "A signing secret is set" in text and "Rotate signing secret" in text
    assert "whsec_" not in text  # shown once, in the response that created it


def test_creating_the_secret_is_audited_without_its_value(world: World) -> None:
    secret = _secret(world)
    with context(org_id=world.org.id, role=ORGANIZATION):
        [entry] = AuditLogEntry.objects.filter(action=actions.CUSTOMER_INBOUND_SECRET_ROTATE)
    assert entry.subject_customer_id == world.customer.id or entry.target_id == str(
        world.customer.id
    )
    assert secret not in json.dumps(entry.after) and entry.after == {"replaced": False}
    with context(org_id=world.org.id, role=ORGANIZATION):
        stored = Customer.objects.get(id=world.customer.id).inbound_secret_encrypted
    assert stored and secret not in stored


def test_a_member_who_may_not_edit_customers_cannot_create_the_secret(world: World) -> None:
    url = world.customer_url(suffix="events/inbound-secret/")
    viewer = world.client(catalog.VIEWER)
    assert viewer.post(url).status_code == 403
    page = viewer.get(world.customer_url(suffix="events/")).content.decode()
    assert "Create signing secret" not in page
    with context(org_id=world.org.id, role=ORGANIZATION):
        assert not Customer.objects.get(id=world.customer.id).inbound_secret_encrypted


def test_an_outsider_gets_404_for_the_secret(world: World) -> None:
    response = world.outsider_client().post(world.customer_url(suffix="events/inbound-secret/"))
    assert response.status_code == 404


# --- Limits -------------------------------------------------------------------------------------


def test_deliveries_count_toward_the_customers_event_limits(world: World) -> None:
    with context(org_id=world.org.id, role=ORGANIZATION):
        CustomerLimitOverride.objects.create(
            org=world.org, customer=world.customer, limit_key="events_per_minute", value=2
        )
    secret = _secret(world)
    wait_for_fresh_minute(10)
    first = _deliver(_hook(world), {"n": 1}, secret, message_id="msg_limit_1")
    second = _deliver(_hook(world), {"n": 2}, secret)
    duplicate = _deliver(_hook(world), {"n": 1}, secret, message_id="msg_limit_1")
    refused = _deliver(_hook(world), {"n": 3}, secret, message_id="msg_limit_3")
    assert [r.status_code for r in (first, second, duplicate)] == [202, 202, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.json()["error"]["limit"]["name"] == "events_per_minute"
    assert int(refused["Retry-After"]) > 0
    assert [event.payload for event in _events(world)] == [{"n": 1}, {"n": 2}]
    counts = ratelimit.current_counts(org_id=world.org.id, customer_id=world.customer.id)
    assert counts["events_per_minute"] == 2  # the duplicate and the refusal counted nothing
    assert counts["api_calls_per_minute"] == 0  # a delivery is no API call
    # The refused message was not marked as seen: the sender's retry is judged again.
    retry = _deliver(_hook(world), {"n": 3}, secret, message_id="msg_limit_3")
    assert retry.status_code == 429
