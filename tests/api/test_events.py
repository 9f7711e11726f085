"""Events are kept (SPEC §11): ``POST /api/v1/events`` stores name and payload in the customer's
region and answers its id; ``GET /api/v1/events/{id}`` reads it back with the executions it
triggered; too large → 413, malformed → 400, in the API's error shape, and nothing stored."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from api.services import api_key_create
from dataplane.events import MAX_PAYLOAD_BYTES, payload_bytes
from dataplane.models import Event, ExecutionLog
from dataplane.services import execution_log_create_unchecked
from roles.models import Role
from tenancy.context import ORGANIZATION, context
from tests.api.conftest import Api, make_key, owner_membership
from tests.conftest import ALL_DATABASES
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

ORDER = {"order": {"id": "A-1", "total": 12.5, "lines": [{"sku": "x", "qty": 2}]}, "é": "ü"}


def _events(world: World, customer=None) -> list[Event]:
    customer = customer or world.customer
    with context(org_id=world.org.id, customer_id=customer.id, role=ORGANIZATION):
        return list(Event.objects.order_by("created_at", "id"))


def _send(api: Api, world: World, key: str, body: Any, path: str = "/events") -> Any:
    return api("POST", path, key, customer=world.customer, json=body)


def _payload_of_size(size: int) -> dict[str, str]:
    """A JSON object whose compact UTF-8 form is exactly ``size`` bytes."""
    base = payload_bytes({"blob": ""})
    return {"blob": "x" * (size - base)}


def _key_without_reads(world: World) -> str:
    """A key whose custom preset holds everything but ``executions.read``."""
    with context(org_id=world.org.id, role=ORGANIZATION, user_id=world.org.owner_id):
        role = Role.objects.create(
            org=world.org, name="No execution reads", permissions=["workflows.execute"]
        )
        return api_key_create(
            acting_user=world.org.owner,
            membership=owner_membership(world.org),
            organization=world.org,
            name="No reads",
            role=role,
            all_customers=True,
            customers=[],
        ).raw


def test_an_event_is_stored_with_its_payload_and_read_back(world: World, api: Api) -> None:
    key = make_key(world.org, "operator")
    response = _send(api, world, key, {"name": "order.paid", "payload": ORDER})
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 1
    (stored,) = _events(world)
    assert body["id"] == str(stored.id)
    assert (stored.name, stored.payload) == ("order.paid", ORDER)
    assert stored.payload_bytes == payload_bytes(ORDER)

    read = api("GET", f"/events/{stored.id}", key, customer=world.customer)
    assert read.status_code == 200
    assert read.json()["name"] == "order.paid"
    assert read.json()["payload"] == ORDER
    assert read.json()["customer_id"] == str(world.customer.id)
    assert read.json()["received_at"].startswith(stored.created_at.date().isoformat())
    assert read.json()["executions"] == []


def test_event_lists_the_executions_it_triggered(world: World, api: Api) -> None:
    key = make_key(world.org, "operator")
    created = _send(api, world, key, {"name": "signup"})
    event_id = created.json()["id"]
    with context(org_id=world.org.id, customer_id=world.customer.id, role=ORGANIZATION):
        run = execution_log_create_unchecked(source="event")
        ExecutionLog.objects.filter(id=run.id).update(event_id=event_id)
        execution_log_create_unchecked(source="event")  # another run, not of this event
    executions = api("GET", f"/events/{event_id}", key, customer=world.customer).json()[
        "executions"
    ]
    assert [e["id"] for e in executions] == [str(run.id)]


def test_batch_answers_the_ids_in_order(world: World, api: Api) -> None:
    key = make_key(world.org, "operator")
    batch = {"events": [{"name": "a", "payload": {"n": 1}}, {"name": "b"}]}
    response = _send(api, world, key, batch, "/events/batch")
    assert response.status_code == 202
    stored = {str(e.id): e for e in _events(world)}
    assert response.json()["accepted"] == 2
    assert [stored[i].name for i in response.json()["ids"]] == ["a", "b"]
    assert [stored[i].payload for i in response.json()["ids"]] == [{"n": 1}, {}]


def test_payload_of_exactly_256_kb_is_accepted(world: World, api: Api) -> None:
    key = make_key(world.org, "operator")
    payload = _payload_of_size(MAX_PAYLOAD_BYTES)
    response = _send(api, world, key, {"name": "big", "payload": payload})
    assert response.status_code == 202
    assert _events(world)[0].payload_bytes == MAX_PAYLOAD_BYTES


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        pytest.param(_payload_of_size(MAX_PAYLOAD_BYTES + 1), 413, "payload_too_large", id="big"),
        pytest.param({"nested": [{"k": "a\u0000b"}]}, 400, "invalid_request", id="nul"),
    ],
)
def test_refused_payload_is_answered_in_the_error_shape_and_not_stored(
    world: World, api: Api, payload: dict[str, Any], status: int, code: str
) -> None:
    response = _send(api, world, make_key(world.org, "operator"), {"name": "x", "payload": payload})
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert _events(world) == []


def test_malformed_json_is_400_in_the_error_shape(world: World, api: Api) -> None:
    key = make_key(world.org, "operator")
    headers = {"Authorization": f"Bearer {key}", "x-end-org-id": str(world.customer.id)}
    response = api.client.post("/api/v1/events/batch", "[{", "application/json", headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert _events(world) == []


def test_batch_with_one_payload_too_large_stores_none_of_it(world: World, api: Api) -> None:
    key = make_key(world.org, "operator")
    batch = {
        "events": [
            {"name": "fine", "payload": {"n": 1}},
            {"name": "big", "payload": _payload_of_size(MAX_PAYLOAD_BYTES + 10)},
        ]
    }
    response = _send(api, world, key, batch, "/events/batch")
    assert response.status_code == 413
    assert response.json()["error"]["message"].startswith("Event 1:")
    assert "256 KB" in response.json()["error"]["message"]
    assert _events(world) == []


def test_body_larger_than_django_reads_is_413_in_the_error_shape(
    world: World, api: Api, settings
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    key = make_key(world.org, "operator")
    payload = {"blob": "x" * 2000}
    response = _send(api, world, key, {"name": "big", "payload": payload})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert _events(world) == []


def test_reading_an_event_needs_executions_read(world: World, api: Api) -> None:
    operator = make_key(world.org, "operator")
    event_id = _send(api, world, operator, {"name": "x"}).json()["id"]
    denied = api("GET", f"/events/{event_id}", _key_without_reads(world), customer=world.customer)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "permission_denied"
    viewer = make_key(world.org, "viewer")
    assert api("GET", f"/events/{event_id}", viewer, customer=world.customer).status_code == 200


def test_another_customers_or_organizations_event_is_404(world: World, api: Api) -> None:
    key = make_key(world.org, "operator")
    event_id = _send(api, world, key, {"name": "x"}).json()["id"]
    other_customer = api("GET", f"/events/{event_id}", key, customer=world.second_customer)
    assert other_customer.status_code == 404
    assert other_customer.json()["error"]["code"] == "not_found"
    outsider = make_key(world.other_org, "admin")
    elsewhere = api("GET", f"/events/{event_id}", outsider, customer=world.other_customer)
    assert elsewhere.status_code == 404
    unknown = api("GET", f"/events/{uuid.uuid4()}", key, customer=world.customer)
    assert unknown.status_code == 404


def test_keys_limited_to_a_customer_read_only_that_customers_events(world: World, api: Api) -> None:
    key = make_key(world.org, "operator")
    event_id = _send(api, world, key, {"name": "x"}).json()["id"]
    limited = make_key(world.org, "admin", customers=[world.second_customer], name="limited")
    assert api("GET", f"/events/{event_id}", limited, customer=world.customer).status_code == 404
    assert (
        api("GET", f"/events/{event_id}", limited, customer=world.second_customer).status_code
        == 404
    )


def test_events_operations_keep_their_operation_ids(world: World, api: Api) -> None:
    schema = api.client.get("/api/v1/openapi.json").json()
    ids = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {
        "api_endpoints_events_ingest",
        "api_endpoints_events_ingest_batch",
        "api_endpoints_events_get",
    } <= ids
