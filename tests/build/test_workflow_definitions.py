"""Build → Workflows (SPEC §11): an organization defines a workflow once — validated JSON whose
steps name connectors by slug, immutable versions, deploys to test and prod, rollback — and every
customer that has it runs what is deployed. Permissions by role, outsiders get 404."""

from __future__ import annotations

import json
import uuid

import pytest

from build.models import WorkflowDefinition, WorkflowDefinitionVersion
from roles import catalog
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    client_for,
    make_connector,
    make_definition,
    make_workflow,
)
from tests.factories import make_customer, make_org
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

STEPS = [{"name": "ping", "url": "https://ok.example/"}]


@pytest.fixture
def org(world: World):
    return world.org


def _form(name="Sync", steps=None, **definition):
    steps = steps if steps is not None else STEPS
    text = json.dumps({"steps": steps, **definition})
    return {"name": name, "description": "", "definition": text}


def _new(org):
    return f"/o/{org.slug}/build/workflows/new/"


def _base(org, definition):
    return f"/o/{org.slug}/build/workflows/{definition.id}/"


def _reload(org, definition_id):
    with context(org_id=org.id, role=ORGANIZATION):
        return WorkflowDefinition.objects.get(id=definition_id)


def _count(org):
    with context(org_id=org.id, role=ORGANIZATION):
        return WorkflowDefinition.objects.count()


def test_owner_creates_a_workflow_as_version_1_and_finds_it_by_search(org) -> None:
    client = client_for(org.owner)
    response = client.post(_new(org), _form(name="Order sync", triggers=[{"event": "order.x"}]))
    assert response.status_code == 302
    listing = client.get(f"/o/{org.slug}/build/workflows/?q=order")
    assert b"Order sync" in listing.content
    assert b"event order.x" in listing.content
    assert b"Order sync" not in client.get(f"/o/{org.slug}/build/workflows/?q=zzz").content


def test_invalid_json_is_refused_with_line_and_column_and_the_text_is_kept(org) -> None:
    text = '{"steps": [\n  {"name": "a", "url": "https://x.example"},\n]}'
    response = client_for(org.owner).post(
        _new(org), {"name": "Broken", "description": "", "definition": text}
    )
    assert response.status_code == 200
    assert b"Line 3, column 1" in response.content
    assert b"https://x.example" in response.content
    assert _count(org) == 0


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([{"url": "https://x.example"}], "steps[0].name"),
        ([{"name": "a", "url": "ftp://x.example"}], "steps[0].url: Only https://"),
        ([{"name": "a", "url": "https://10.1.2.3/"}], "steps[0].url: Private"),
        ([{"name": "a", "url": "https://x.example", "method": "TRACE"}], "steps[0].method"),
        ([{"name": "a", "url": "https://x.example", "timeout_seconds": 99}], "timeout_seconds"),
        (
            [{"name": "a", "url": "https://x.example", "connector": "nowhere"}],
            "steps[0].connector: no connector has the slug &#x27;nowhere&#x27;",
        ),
        ([{"name": "a", "url": "https://x.example", "extra": 1}], "unknown key"),
        (
            [{"name": "a", "url": "https://x.example", "connection": str(uuid.uuid4())}],
            "unknown key(s) connection",
        ),
    ],
)
def test_definition_errors_name_the_step_and_nothing_is_saved(org, steps, message) -> None:
    response = client_for(org.owner).post(_new(org), _form(steps=steps))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert _count(org) == 0


def test_a_cron_that_does_not_parse_is_refused_with_its_path(org) -> None:
    response = client_for(org.owner).post(_new(org), _form(triggers=[{"schedule": "61 * * * *"}]))
    assert response.status_code == 200
    assert "triggers[0].schedule" in response.content.decode()
    assert _count(org) == 0


def test_a_step_naming_a_connector_may_only_call_its_hosts(org) -> None:
    connector = make_connector(org, base_url="https://crm.example")
    steps = [{"name": "a", "url": "https://elsewhere.example/", "connector": connector.slug}]
    response = client_for(org.owner).post(_new(org), _form(steps=steps))
    assert "is not a host of connector" in response.content.decode()
    ok = [{"name": "a", "url": "https://crm.example/deals", "connector": connector.slug}]
    assert client_for(org.owner).post(_new(org), _form(steps=ok)).status_code == 302


def test_a_connector_of_another_organization_cannot_be_named(world, org) -> None:
    foreign = make_connector(world.other_org, name="Globex Only")
    steps = [{"name": "a", "url": "https://crm.example/", "connector": foreign.slug}]
    response = client_for(org.owner).post(_new(org), _form(steps=steps))
    assert "no connector has the slug" in response.content.decode()


def test_oversized_definition_is_refused(org) -> None:
    steps = [{"name": f"s{i}", "url": "https://x.example/" + "a" * 4000} for i in range(20)]
    response = client_for(org.owner).post(_new(org), _form(steps=steps))
    assert b"the limit is 65,536" in response.content


def test_edits_make_versions_and_deploys_and_rollback_record_them(org) -> None:
    definition = make_definition(org, {"steps": [{"name": "a", "url": "https://one.example"}]})
    client = client_for(org.owner)
    base = _base(org, definition)
    two = _form(steps=[{"name": "a", "url": "https://two.example"}])
    assert client.post(base + "edit/", two).status_code == 302
    client.post(base + "deploy/", {"environment": "test", "number": 2})
    client.post(base + "deploy/", {"environment": "prod", "number": 2})
    client.post(base + "deploy/", {"environment": "prod", "number": 1})
    definition = _reload(org, definition.id)
    assert (definition.current_version, definition.test_version, definition.prod_version) == (
        2,
        2,
        1,
    )
    with context(org_id=org.id, role=ORGANIZATION):
        versions = dict(
            WorkflowDefinitionVersion.objects.filter(workflow=definition).values_list(
                "number", "snapshot"
            )
        )
    assert versions[1]["definition"]["steps"][0]["url"] == "https://one.example"
    assert versions[2]["definition"]["steps"][0]["url"] == "https://two.example"
    assert b"https://one.example" in client.get(base + "versions/1/").content


def test_provisional_organization_cannot_deploy_a_workflow_to_prod() -> None:
    org = make_org("Provisional", status="provisional")
    definition = make_definition(org, {"steps": STEPS})
    response = client_for(org.owner).post(
        _base(org, definition) + "deploy/", {"environment": "prod", "number": 1}, follow=True
    )
    assert b"Provisional organizations cannot deploy to prod" in response.content
    assert _reload(org, definition.id).prod_version is None


def test_a_workflow_customers_have_cannot_be_deleted(org) -> None:
    customer = make_customer(org, region="eu")
    workflow = make_workflow(org, customer, STEPS)
    response = client_for(org.owner).post(
        f"/o/{org.slug}/build/workflows/{workflow.definition_id}/delete/", follow=True
    )
    assert b"1 customer(s) still have" in response.content
    assert _count(org) == 1
    stat = '<span class="value">1</span><span class="label">Customers that have it</span>'
    assert stat in response.content.decode()


# Permissions --------------------------------------------------------------------------------

ALLOWED = {
    "workflows.create": {catalog.OWNER, catalog.DEVELOPER},
    "workflows.update": {catalog.OWNER, catalog.DEVELOPER},
    "workflows.delete": {catalog.OWNER, catalog.DEVELOPER},
    "workflows.deploy_test": {catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR},
    "workflows.deploy_prod": {catalog.OWNER, catalog.DEVELOPER},
}
ORG_ROLES = (catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER)


@pytest.mark.parametrize("role", ORG_ROLES)
@pytest.mark.parametrize("key", sorted(ALLOWED))
def test_definition_action_allowed_or_refused_by_role(world, org, role, key) -> None:
    definition = make_definition(org, {"steps": STEPS})
    base = _base(org, definition)
    url, data, happened = {
        "workflows.create": (_new(org), _form(name="Another"), lambda: _count(org) == 2),
        "workflows.update": (
            base + "edit/",
            _form(steps=[{"name": "b", "url": "https://two.example"}]),
            lambda: _reload(org, definition.id).current_version == 2,
        ),
        "workflows.delete": (base + "delete/", {}, lambda: _count(org) == 0),
        "workflows.deploy_test": (
            base + "deploy/",
            {"environment": "test", "number": 1},
            lambda: _reload(org, definition.id).test_version == 1,
        ),
        "workflows.deploy_prod": (
            base + "deploy/",
            {"environment": "prod", "number": 1},
            lambda: _reload(org, definition.id).prod_version == 1,
        ),
    }[key]
    response = client_for(world.user(role)).post(url, data)
    if role in ALLOWED[key]:
        assert response.status_code == 302
        assert happened()
    else:
        assert response.status_code == 403
        assert not happened()


def test_viewer_reads_definitions_but_sees_no_edit_or_deploy(world, org) -> None:
    definition = make_definition(org, {"steps": STEPS})
    client = client_for(world.user(catalog.VIEWER))
    page = client.get(_base(org, definition))
    assert page.status_code == 200
    assert b"Deploy to prod" not in page.content
    assert b">Edit<" not in page.content


def test_end_user_cannot_open_workflow_definitions(world, org) -> None:
    definition = make_definition(org, {"steps": STEPS})
    client = client_for(world.user(catalog.END_USER))
    assert client.get(f"/o/{org.slug}/build/workflows/").status_code == 404
    assert client.get(_base(org, definition)).status_code == 404


def test_outsider_gets_404_for_every_definition_url(world, org) -> None:
    other = world.other_org
    definition = make_definition(org, {"steps": STEPS})
    outsider = client_for(other.owner)
    for path in ("", "edit/", "delete/", "versions/1/"):
        assert outsider.get(_base(org, definition) + path).status_code == 404, path
        url = f"/o/{other.slug}/build/workflows/{definition.id}/{path}"
        assert outsider.get(url).status_code == 404, path
    deploy = outsider.post(
        f"/o/{other.slug}/build/workflows/{definition.id}/deploy/",
        {"environment": "prod", "number": 1},
    )
    assert deploy.status_code == 404
    assert _reload(org, definition.id).prod_version is None
