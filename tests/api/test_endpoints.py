"""The JSON API: customer scope, presets per endpoint, state effects, one error shape."""

from __future__ import annotations

import uuid

import pytest

from audit.models import AuditLogEntry
from build.models import WorkflowDefinition
from customers.models import Customer, CustomerLimitOverride
from dataplane.models import Connection, Event
from tenancy.context import ORGANIZATION, context
from tests.api.conftest import Api, make_key
from tests.conftest import ALL_DATABASES
from tests.factories import _connector_id, make_customer, make_customer_data
from tests.world import World


def _connector(org) -> uuid.UUID:
    with context(org_id=org.id, role=ORGANIZATION):
        return _connector_id(org)


pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _set_customer_status(customer: Customer, status: str) -> None:
    with context(org_id=customer.org_id, role=ORGANIZATION):
        Customer.objects.filter(id=customer.id).update(status=status)


# --- Scope -------------------------------------------------------------------------------------


def test_key_limited_to_customer_a_asking_for_b_is_404(world: World, api: Api) -> None:
    raw = make_key(world.org, "operator", customers=[world.customer])
    assert api("GET", "/customers", raw, customer=world.customer).status_code == 200
    for other in (world.second_customer, world.other_customer, uuid.uuid4(), "not-a-uuid"):
        response = api("GET", "/customers", raw, customer=other)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "customer_not_found"
    assert (
        api(
            "GET", f"/customers/{world.second_customer.id}", raw, customer=world.customer
        ).status_code
        == 404
    )


def test_key_limited_to_selected_customers_needs_x_end_org_id(world: World, api: Api) -> None:
    raw = make_key(world.org, "operator", customers=[world.customer])
    response = api("GET", "/customers", raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "end_org_id_required"


def test_limited_key_lists_only_its_customer(world: World, api: Api) -> None:
    raw = make_key(world.org, "viewer", customers=[world.customer, world.second_customer])
    body = api("GET", "/customers", raw, customer=world.customer).json()
    assert [item["id"] for item in body["items"]] == [str(world.customer.id)]


def test_organization_wide_key_sees_every_customer_of_its_organization_only(
    world: World, api: Api
) -> None:
    raw = make_key(world.org, "viewer")
    ids = {item["id"] for item in api("GET", "/customers", raw).json()["items"]}
    assert ids == {str(world.customer.id), str(world.second_customer.id)}
    assert api("GET", f"/customers/{world.other_customer.id}", raw).status_code == 404
    assert api("GET", "/customers", raw, customer=world.other_customer).status_code == 404


def test_customer_data_stays_with_its_customer(world: World, api: Api) -> None:
    a1_data = make_customer_data(world.org, world.customer)
    a2_data = make_customer_data(world.org, world.second_customer)
    raw = make_key(world.org, "viewer")
    connections = api("GET", "/connections", raw, customer=world.customer).json()["items"]
    assert [c["id"] for c in connections] == [str(a1_data.connection.id)]
    executions = api("GET", "/executions", raw, customer=world.second_customer).json()["items"]
    assert [e["id"] for e in executions] == [str(a2_data.execution.id)]
    missing = api("GET", "/connections", raw)
    assert missing.json()["error"]["code"] == "end_org_id_required"
    other = api(
        "DELETE",
        f"/connections/{a2_data.connection.id}",
        make_key(world.org, "admin"),
        customer=world.customer,
    )
    assert other.status_code == 404


# --- Presets -----------------------------------------------------------------------------------


def test_viewer_key_cannot_create_a_customer(world: World, api: Api) -> None:
    raw = make_key(world.org, "viewer")
    response = api("POST", "/customers", raw, json={"name": "Nope"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    with context(org_id=world.org.id, role=ORGANIZATION):
        assert not Customer.objects.filter(name="Nope").exists()


def test_operator_key_creates_a_customer_audited_as_the_key(world: World, api: Api) -> None:
    raw = make_key(world.org, "operator", name="CRM sync")
    response = api("POST", "/customers", raw, json={"name": "New Co", "external_id": "crm-9"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "New Co" and body["external_id"] == "crm-9"
    with context(org_id=world.org.id, role=ORGANIZATION):
        entry = AuditLogEntry.objects.get(action="customer.create", target_id=body["id"])
    assert entry.actor_id is None and entry.actor_label.startswith("API key CRM sync")


def test_customer_limited_key_cannot_create_customers(world: World, api: Api) -> None:
    raw = make_key(world.org, "operator", customers=[world.customer])
    response = api("POST", "/customers", raw, customer=world.customer, json={"name": "Nope"})
    assert response.status_code == 403


def test_viewer_key_cannot_update_but_operator_can(world: World, api: Api) -> None:
    viewer = make_key(world.org, "viewer")
    path = f"/customers/{world.customer.id}"
    assert api("PATCH", path, viewer, json={"name": "Renamed"}).status_code == 403
    operator = make_key(world.org, "operator")
    response = api("PATCH", path, operator, json={"name": "Renamed", "external_id": "ext-1"})
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Renamed" and response.json()["external_id"] == "ext-1"
    suspended = api("PATCH", path, operator, json={"status": "suspended"})
    assert suspended.json()["status"] == "suspended"


def _viewer_refused_operator_served(world: World, api: Api, method: str, path: str, status: int):
    """``method path`` for customer a1: 403 with a viewer key, then ``status`` with an operator
    key. Returns the viewer key and the operator's response."""
    viewer = make_key(world.org, "viewer")
    assert api(method, path, viewer, customer=world.customer).status_code == 403
    response = api(method, path, make_key(world.org, "operator"), customer=world.customer)
    assert response.status_code == status, response.content
    return viewer, response


def test_viewer_key_cannot_delete_connections_but_operator_can(world: World, api: Api) -> None:
    data = make_customer_data(world.org, world.customer)
    _viewer_refused_operator_served(world, api, "DELETE", f"/connections/{data.connection.id}", 204)
    with context(org_id=world.org.id, customer_id=world.customer.id, role=ORGANIZATION):
        assert not Connection.objects.filter(id=data.connection.id).exists()


def test_operator_key_connects_a_customer_and_never_returns_credentials(
    world: World, api: Api
) -> None:
    connector_id = _connector(world.org)
    raw = make_key(world.org, "operator")
    response = api(
        "POST",
        "/connections",
        raw,
        customer=world.customer,
        json={"connector_id": str(connector_id), "name": "Slack", "credentials": {}},
    )
    assert response.status_code == 201, response.content
    assert "credentials" not in response.json()
    viewer = make_key(world.org, "viewer")
    denied = api(
        "POST",
        "/connections",
        viewer,
        customer=world.customer,
        json={"connector_id": str(connector_id)},
    )
    assert denied.status_code == 403


def test_workflow_run_needs_workflows_execute(world: World, api: Api) -> None:
    data = make_customer_data(world.org, world.customer)
    with context(org_id=world.org.id, role=ORGANIZATION):
        # The API runs what is deployed to prod.
        WorkflowDefinition.objects.filter(id=data.workflow.definition_id).update(prod_version=1)
    viewer, response = _viewer_refused_operator_served(
        world, api, "POST", f"/workflows/{data.workflow.id}/run", 202
    )
    assert response.json()["status"] == "queued"
    listed = api("GET", "/workflows", viewer, customer=world.customer).json()["items"]
    assert [w["id"] for w in listed] == [str(data.workflow.id)]


def test_events_need_workflows_execute(world: World, api: Api) -> None:
    viewer = make_key(world.org, "viewer")
    assert (
        api("POST", "/events", viewer, customer=world.customer, json={"name": "signup"}).status_code
        == 403
    )
    operator = make_key(world.org, "operator")
    response = api("POST", "/events", operator, customer=world.customer, json={"name": "signup"})
    assert response.status_code == 202
    assert response.json()["accepted"] == 1  # and the stored event's id (tests/api/test_events.py)
    with context(org_id=world.org.id, customer_id=world.customer.id, role=ORGANIZATION):
        assert Event.objects.filter(name="signup").count() == 1


def test_usage_needs_billing_read(world: World, api: Api) -> None:
    assert api("GET", "/usage", make_key(world.org, "operator")).status_code == 403
    response = api("GET", "/usage", make_key(world.org, "admin"), customer=world.customer)
    assert response.status_code == 200
    body = response.json()
    assert body["customer_id"] == str(world.customer.id)
    assert body["windows"]["api_calls_per_minute"]["limit"] == 200
    assert len(body["daily"]) == 30


def test_embed_token_needs_connections_share(world: World, api: Api) -> None:
    assert (
        api(
            "POST", "/embed/token", make_key(world.org, "viewer"), customer=world.customer
        ).status_code
        == 403
    )
    response = api("POST", "/embed/token", make_key(world.org, "operator"), customer=world.customer)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["token"] and str(world.customer.id) in body["widget_url"]


# --- States (SPEC §3) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [("suspended", "customer_suspended"), ("pending_activation", "customer_pending_activation")],
)
def test_refused_customer_states(world: World, api: Api, status: str, code: str) -> None:
    raw = make_key(world.org, "admin")
    _set_customer_status(world.customer, status)
    response = api("GET", "/connections", raw, customer=world.customer)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == code


def test_relocating_customer_reads_but_refuses_writes(world: World, api: Api) -> None:
    raw = make_key(world.org, "admin")
    _set_customer_status(world.customer, "relocating")
    assert api("GET", "/connections", raw, customer=world.customer).status_code == 200
    response = api("POST", "/events", raw, customer=world.customer, json={"name": "x"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "customer_relocating"


def test_deleting_customer_is_hidden(world: World, api: Api) -> None:
    raw = make_key(world.org, "admin")
    _set_customer_status(world.customer, "deleting")
    assert api("GET", "/customers", raw, customer=world.customer).status_code == 404
    assert api("GET", f"/customers/{world.customer.id}", raw).status_code == 404


def test_suspended_organization_is_refused(world: World, api: Api) -> None:
    raw = make_key(world.org, "admin")
    with context(org_id=world.org.id, role=ORGANIZATION):
        type(world.org).objects.filter(id=world.org.id).update(status="suspended")
    response = api("GET", "/customers", raw)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "organization_suspended"


# --- Errors ------------------------------------------------------------------------------------


def test_invalid_body_uses_the_error_shape(world: World, api: Api) -> None:
    raw = make_key(world.org, "admin")
    response = api("POST", "/customers", raw, json={"name": ""})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


LISTS = ("/customers", "/connections", "/executions", "/workflow-definitions", "/workflows")


@pytest.mark.parametrize("path", LISTS)
def test_every_list_pages_with_the_same_bounded_limit_and_offset(
    world: World, api: Api, path: str
) -> None:
    raw = make_key(world.org, "viewer")
    served = api("GET", path, raw, customer=world.customer, params={"limit": 1, "offset": 0})
    assert served.status_code == 200
    assert (served.json()["limit"], served.json()["offset"]) == (1, 0)
    assert api("GET", path, raw, customer=world.customer).json()["limit"] == 50
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"offset": 1_000_001}):
        refused = api("GET", path, raw, customer=world.customer, params=params)
        assert refused.status_code == 422, params
        assert refused.json()["error"]["code"] == "invalid_request"


def test_the_schema_names_limit_and_offset_as_query_parameters_of_every_list(api: Api) -> None:
    paths = api.client.get("/api/v1/openapi.json").json()["paths"]
    for path in LISTS:
        names = {p.get("name") for p in paths[f"/api/v1{path}"]["get"]["parameters"]}
        assert {"limit", "offset"} <= names, path


def test_count_limit_is_a_409_naming_the_limit(world: World, api: Api) -> None:
    raw = make_key(world.org, "admin")
    with context(org_id=world.org.id, role=ORGANIZATION):
        CustomerLimitOverride.objects.create(
            org=world.org, customer=world.customer, limit_key="connections_per_customer", value=1
        )
    make_customer_data(world.org, world.customer)
    response = api(
        "POST",
        "/connections",
        raw,
        customer=world.customer,
        json={"connector_id": str(_connector(world.org))},
    )
    assert response.status_code == 409
    assert response.json()["error"]["limit"]["name"] == "connections_per_customer"


def test_unknown_endpoint_is_a_json_404(api: Api) -> None:
    response = api("GET", "/nope", None)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_openapi_schema_and_docs_are_served(api: Api) -> None:
    schema = api.client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/customers", "/api/v1/events/batch", "/api/v1/embed/token"} <= set(paths)
    assert api.client.get("/api/v1/docs").status_code == 200


def test_session_login_does_not_authenticate_the_api(world: World, api: Api) -> None:
    api.client.force_login(world.org.owner)
    assert api("GET", "/customers", None).status_code == 401


def test_another_customer_created_later_is_not_visible_to_a_limited_key(
    world: World, api: Api
) -> None:
    raw = make_key(world.org, "admin", customers=[world.customer])
    later = make_customer(world.org, "Later")
    assert api("GET", "/customers", raw, customer=later).status_code == 404


def test_malformed_json_body_uses_the_error_shape(world: World, api: Api) -> None:
    raw = make_key(world.org, "admin")
    response = api.client.post(
        "/api/v1/customers",
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] == "invalid_request"


def test_wrong_key_is_401_even_with_a_malformed_customer_header(api: Api) -> None:
    fake = "fsk_live_" + "1" * 32 + "_" + "b" * 43
    response = api("GET", "/customers", fake, customer="not-a-uuid")
    assert response.status_code == 401


def test_every_page_reports_the_same_total_whatever_its_limit_and_offset(
    world: World, api: Api
) -> None:
    """The total is counted only when the page cannot tell it (``_page`` reads one row past
    the page): full pages, the last page, an empty page past the end all agree."""
    raw = make_key(world.org, "viewer")
    everything = api("GET", "/customers?limit=100", raw).json()
    total = everything["count"]
    ids = [item["id"] for item in everything["items"]]
    assert total == len(ids) >= 2
    for limit in range(1, total + 2):
        for offset in range(0, total + 3):
            body = api("GET", f"/customers?limit={limit}&offset={offset}", raw).json()
            assert body["count"] == total, (limit, offset)
            assert [item["id"] for item in body["items"]] == ids[offset : offset + limit]
