"""The workflow operations (SPEC §11, ``api.workflows``): a partner's backend lists the
organization's workflows, adds one to a customer, runs it and removes it — permission by key
preset, other customers' and organizations' workflows a 404."""

from __future__ import annotations

import uuid

import pytest

from dataplane.models import Workflow
from tenancy.context import ORGANIZATION, context
from tests.api.conftest import Api, make_key
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    deploy_workflow,
    make_connection,
    make_connector,
    make_definition,
    make_workflow,
)
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

STEPS = [{"name": "ping", "url": "https://ok.example/"}]


def _workflows(world: World, customer=None) -> list[Workflow]:
    customer = customer or world.customer
    with context(org_id=world.org.id, customer_id=customer.id, role=ORGANIZATION):
        return list(Workflow.objects.all())


def test_definitions_list_the_organizations_workflows_only(world: World, api: Api) -> None:
    mine = make_definition(world.org, {"steps": STEPS}, name="Order sync")
    make_definition(world.other_org, {"steps": STEPS}, name="Globex flow")
    listed = api("GET", "/workflow-definitions", make_key(world.org, "viewer")).json()
    assert [(d["id"], d["name"]) for d in listed["items"]] == [(str(mine.id), "Order sync")]
    assert listed["items"][0]["definition"]["steps"][0]["name"] == "ping"


def test_a_developer_key_adds_a_workflow_and_a_viewer_key_may_not(world: World, api: Api) -> None:
    crm = make_connector(world.org, name="Acme CRM", base_url="https://crm.example")
    connection = make_connection(world.org, world.customer, crm)
    step = {"name": "a", "url": "https://crm.example/x", "connector": crm.slug}
    definition = make_definition(world.org, {"steps": [step]}, name="CRM sync")
    body = {"definition_id": str(definition.id), "connections": {crm.slug: str(connection.id)}}
    denied = api(
        "POST", "/workflows", make_key(world.org, "viewer"), customer=world.customer, json=body
    )
    assert denied.status_code == 403
    assert _workflows(world) == []
    developer = make_key(world.org, "developer")
    added = api("POST", "/workflows", developer, customer=world.customer, json=body)
    assert added.status_code == 201, added.content
    assert added.json()["definition_id"] == str(definition.id)
    assert added.json()["name"] == "CRM sync"
    [workflow] = _workflows(world)
    assert workflow.connections == {crm.slug: str(connection.id)}
    again = api("POST", "/workflows", developer, customer=world.customer, json=body)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_added")
    listed = api("GET", "/workflows", developer, customer=world.customer).json()["items"]
    assert [w["id"] for w in listed] == [str(workflow.id)]


def test_a_bad_definition_or_connection_is_refused_and_nothing_is_added(
    world: World, api: Api
) -> None:
    developer = make_key(world.org, "developer")
    foreign = make_definition(world.other_org, {"steps": STEPS})
    for definition_id in (foreign.id, uuid.uuid4()):
        response = api(
            "POST",
            "/workflows",
            developer,
            customer=world.customer,
            json={"definition_id": str(definition_id)},
        )
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    crm = make_connector(world.org, name="Acme CRM", base_url="https://crm.example")
    other_customers = make_connection(world.org, world.second_customer, crm)
    step = {"name": "a", "url": "https://crm.example/x", "connector": crm.slug}
    definition = make_definition(world.org, {"steps": [step]})
    response = api(
        "POST",
        "/workflows",
        developer,
        customer=world.customer,
        json={
            "definition_id": str(definition.id),
            "connections": {crm.slug: str(other_customers.id)},
        },
    )
    assert response.status_code == 422
    assert "not a connection of this customer" in response.json()["error"]["message"]
    assert _workflows(world) == []


def test_removing_needs_workflows_delete_and_another_customers_workflow_is_a_404(
    world: World, api: Api
) -> None:
    workflow = make_workflow(world.org, world.customer, STEPS)
    theirs = make_workflow(world.org, world.second_customer, STEPS, name="Theirs")
    path = f"/workflows/{workflow.id}"
    assert (
        api("DELETE", path, make_key(world.org, "operator"), customer=world.customer).status_code
        == 403
    )
    developer = make_key(world.org, "developer")
    stranger = api("DELETE", f"/workflows/{theirs.id}", developer, customer=world.customer)
    assert stranger.status_code == 404
    assert api("DELETE", path, developer, customer=world.customer).status_code == 204
    assert _workflows(world) == []
    assert len(_workflows(world, world.second_customer)) == 1


def test_an_added_workflow_runs_what_is_deployed(world: World, api: Api) -> None:
    definition = make_definition(world.org, {"steps": STEPS})
    developer = make_key(world.org, "developer")
    added = api(
        "POST",
        "/workflows",
        developer,
        customer=world.customer,
        json={"definition_id": str(definition.id)},
    ).json()
    run = f"/workflows/{added['id']}/run"
    refused = api("POST", run, developer, customer=world.customer)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "not_deployed")
    [workflow] = _workflows(world)
    deploy_workflow(world.org, world.customer, workflow, "prod")
    queued = api("POST", run, developer, customer=world.customer)
    assert queued.status_code == 202
    assert (queued.json()["version"], queued.json()["environment"]) == (1, "prod")
