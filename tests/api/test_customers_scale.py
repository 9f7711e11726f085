"""The customer API at scale (SPEC §13): upsert by external ID, delete, create pending
activation, labels and metadata, the label filter — each with its allow and deny, outsiders
get 404, and the one error shape."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditLogEntry
from customers.models import Customer, CustomerStatus
from tenancy.context import ORGANIZATION, context
from tests.api.conftest import Api, make_key
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _get(world: World, **filters) -> Customer | None:
    with context(org_id=world.org.id, role=ORGANIZATION):
        return Customer.objects.filter(**filters).first()


# --- PUT /customers/by-external-id/{external_id} ---------------------------------------------


def test_put_creates_then_updates_then_changes_nothing(world: World, api: Api) -> None:
    key = make_key(world.org, "operator")
    path = "/customers/by-external-id/crm-77"
    body = {"name": "Initech", "region": "apac", "labels": {"env": "prod"}, "metadata": {"a": 1}}
    created = api("PUT", path, key, json=body)
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["external_id"], data["region"], data["status"]) == ("crm-77", "apac", "active")
    assert data["labels"] == {"env": "prod"} and data["metadata"] == {"a": 1}

    again = api("PUT", path, key, json=body)
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    changed = api("PUT", path, key, json={**body, "name": "Initech Corp", "labels": {}})
    assert changed.status_code == 200
    assert changed.json()["name"] == "Initech Corp" and changed.json()["labels"] == {}
    assert changed.json()["metadata"] == {"a": 1}  # not given: kept
    with context(org_id=world.org.id, role=ORGANIZATION):
        assert Customer.objects.filter(external_id="crm-77").count() == 1
        actions = list(
            AuditLogEntry.objects.filter(target_id=data["id"])
            .order_by("created_at")
            .values_list("action", flat=True)
        )
    assert actions == ["customer.create", "customer.update"]  # the repeat wrote nothing


def test_put_updates_an_existing_customer_and_may_suspend_it(world: World, api: Api) -> None:
    key = make_key(world.org, "operator")
    response = api(
        "PUT", "/customers/by-external-id/nw-1", key, json={"name": "NW", "status": "suspended"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(world.customer.id)
    assert response.json()["status"] == "suspended"


def test_viewer_key_cannot_upsert(world: World, api: Api) -> None:
    key = make_key(world.org, "viewer")
    for external_id in ("crm-new", "nw-1"):
        response = api("PUT", f"/customers/by-external-id/{external_id}", key, json={"name": "X"})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
    assert _get(world, external_id="crm-new") is None
    assert _get(world, id=world.customer.id).name == "Northwind"


@pytest.mark.parametrize(
    ("external_id", "body", "expected"),
    [
        ("nw-1", {"name": "NW", "region": "us"}, "is a relocation"),
        ("x", {"name": "X", "status": "suspended"}, "active or pending activation"),
        ("nw-1", {"name": "NW", "status": "pending_activation"}, "only be activated or"),
    ],
)
def test_put_refusals_change_nothing(
    world: World, api: Api, external_id: str, body: dict, expected: str
) -> None:
    key = make_key(world.org, "admin")
    response = api("PUT", f"/customers/by-external-id/{external_id}", key, json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and expected in error["message"]
    assert _get(world, id=world.customer.id).name == "Northwind"
    assert _get(world, external_id="x") is None


def test_put_with_another_organizations_external_id_creates_our_own(world: World, api: Api) -> None:
    """Globex's key naming nw-1 (also Acme's Northwind) never reaches Acme's customer."""
    key = make_key(world.other_org, "admin")
    response = api("PUT", "/customers/by-external-id/nw-1", key, json={"name": "Renamed"})
    assert response.status_code == 200
    assert response.json()["id"] == str(world.other_customer.id)
    assert _get(world, id=world.customer.id).name == "Northwind"


def test_put_refuses_a_label_key_with_a_space_and_oversized_metadata(
    world: World, api: Api
) -> None:
    key = make_key(world.org, "admin")
    path = "/customers/by-external-id/crm-1"
    spaced = api("PUT", path, key, json={"name": "A", "labels": {"my env": "prod"}})
    assert spaced.status_code == 422
    error = spaced.json()["error"]
    assert "“my env” contains a space" in error["message"]
    assert "labels" in error["details"]
    big = api("PUT", path, key, json={"name": "A", "metadata": {"x": "a" * 17_000}})
    assert big.status_code == 422 and "16 KB" in big.json()["error"]["message"]
    assert _get(world, external_id="crm-1") is None


def test_put_at_the_plan_limit_is_a_409(world: World, api: Api) -> None:
    key = make_key(world.org, "admin")
    with context(org_id=world.org.id, role=ORGANIZATION):
        from customers.models import Organization, Plan

        Organization.objects.filter(id=world.org.id).update(plan=Plan.objects.get(code="free"))
    for n in range(23):
        make_customer(world.org, f"C{n}")
    response = api("PUT", "/customers/by-external-id/over", key, json={"name": "Over"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "limit_reached"


# --- DELETE /customers/{id} ------------------------------------------------------------------


def test_admin_key_deletes_a_customer_as_the_console_does(world: World, api: Api) -> None:
    key = make_key(world.org, "admin")
    path = f"/customers/{world.customer.id}"
    response = api("DELETE", path, key)
    assert response.status_code == 202, response.content
    assert response.json()["status"] == CustomerStatus.DELETING
    assert _get(world, id=world.customer.id).status == CustomerStatus.DELETING
    assert api("GET", path, key).status_code == 404
    assert api("DELETE", path, key).status_code == 404
    with context(org_id=world.org.id, role=ORGANIZATION):
        assert AuditLogEntry.objects.filter(
            action="customer.delete.start", target_id=str(world.customer.id)
        ).exists()


def test_operator_key_cannot_delete_a_customer(world: World, api: Api) -> None:
    key = make_key(world.org, "operator")
    response = api("DELETE", f"/customers/{world.customer.id}", key)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert _get(world, id=world.customer.id).status == CustomerStatus.ACTIVE


def test_an_outsiders_key_gets_404_for_our_customers(world: World, api: Api) -> None:
    key = make_key(world.other_org, "admin")
    for method, body in (("DELETE", None), ("GET", None), ("PATCH", {"labels": {"a": "b"}})):
        response = api(method, f"/customers/{world.customer.id}", key, json=body)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "customer_not_found"
    assert _get(world, id=world.customer.id).status == CustomerStatus.ACTIVE


def test_a_relocating_customer_cannot_be_deleted(world: World, api: Api) -> None:
    with context(org_id=world.org.id, role=ORGANIZATION):
        Customer.objects.filter(id=world.customer.id).update(status=CustomerStatus.RELOCATING)
    response = api("DELETE", f"/customers/{world.customer.id}", make_key(world.org, "admin"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "customer_relocating"


# --- POST, PATCH, GET ------------------------------------------------------------------------


def test_create_pending_activation_with_labels(world: World, api: Api) -> None:
    key = make_key(world.org, "operator")
    response = api(
        "POST",
        "/customers",
        key,
        json={"name": "Later", "status": "pending_activation", "labels": {"env": "trial"}},
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending_activation"
    assert response.json()["labels"] == {"env": "trial"}
    refused = api("POST", "/customers", key, json={"name": "X", "status": "suspended"})
    assert refused.status_code == 422


def test_patch_changes_labels_and_metadata(world: World, api: Api) -> None:
    key = make_key(world.org, "operator")
    path = f"/customers/{world.customer.id}"
    response = api("PATCH", path, key, json={"labels": {"tier": "gold"}, "metadata": {"k": [1]}})
    assert response.status_code == 200, response.content
    assert response.json()["labels"] == {"tier": "gold"}
    assert response.json()["name"] == "Northwind"
    viewer = make_key(world.org, "viewer")
    assert api("PATCH", path, viewer, json={"labels": {}}).status_code == 403
    assert _get(world, id=world.customer.id).labels == {"tier": "gold"}


def test_list_filters_by_labels(world: World, api: Api) -> None:
    with context(org_id=world.org.id, role=ORGANIZATION):
        Customer.objects.filter(id=world.customer.id).update(labels={"env": "prod", "t": "1"})
        Customer.objects.filter(id=world.second_customer.id).update(labels={"env": "prod"})
        Customer.objects.filter(id=world.other_customer.id).update(labels={"env": "prod"})
    key = make_key(world.org, "viewer")
    prod = api("GET", "/customers", key, params={"label": "env:prod"}).json()
    assert {item["id"] for item in prod["items"]} == {
        str(world.customer.id),
        str(world.second_customer.id),
    }
    both = api("GET", "/customers?label=env:prod&label=t:1", key).json()
    assert [item["id"] for item in both["items"]] == [str(world.customer.id)]
    assert both["items"][0]["labels"] == {"env": "prod", "t": "1"}
    bad = api("GET", "/customers", key, params={"label": "my env:prod"})
    assert bad.status_code == 422
    assert "contains a space" in bad.json()["error"]["message"]


def test_the_openapi_schema_documents_the_new_operations(api: Api) -> None:
    schema = json.loads(api.client.get("/api/v1/openapi.json").content)
    upsert = schema["paths"]["/api/v1/customers/by-external-id/{external_id}"]["put"]
    assert {"200", "201", "403"} <= set(upsert["responses"])
    assert "202" in schema["paths"]["/api/v1/customers/{customer_id}"]["delete"]["responses"]
