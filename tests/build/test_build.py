"""Build → Connectors, Agents, Tools: versions, deploys, rollbacks, permissions, isolation."""

from __future__ import annotations

import uuid

import pytest

from audit.models import AuditLogEntry
from build.models import Connector, ConnectorVersion
from dataplane.models import ExecutionLog
from roles import catalog
from tenancy.context import ORGANIZATION, context, region_alias
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    client_for,
    make_connection,
    make_connector,
    make_endpoint_item,
    post_to_test_panel,
    set_status,
)
from tests.dataplane.targets import running_target
from tests.factories import make_customer, make_org
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

CONNECTOR_FORM = {
    "name": "Zendesk",
    "description": "Tickets",
    "auth_method": "api_key",
    "credential_fields": "api_key, subdomain",
    "base_url": "https://zendesk.example",
}


@pytest.fixture
def org(world: World):
    return world.org


def _connector(org, **kwargs):
    return make_connector(org, deploy_prod=False, **kwargs)


def _versions(org, connector):
    with context(org_id=org.id, role=ORGANIZATION):
        return list(
            ConnectorVersion.objects.filter(connector=connector)
            .order_by("number")
            .values_list("number", "snapshot")
        )


def _reload(org, model, pk):
    with context(org_id=org.id, role=ORGANIZATION):
        return model.objects.get(id=pk)


def test_owner_creates_a_connector_as_version_1_and_finds_it_by_search(org) -> None:
    client = client_for(org.owner)
    response = client.post(f"/o/{org.slug}/build/connectors/new/", CONNECTOR_FORM)
    assert response.status_code == 302
    with context(org_id=org.id, role=ORGANIZATION):
        connector = Connector.objects.get(name="Zendesk")
    assert connector.credential_fields == ["api_key", "subdomain"]
    assert [n for n, _ in _versions(org, connector)] == [1]
    listing = client.get(f"/o/{org.slug}/build/connectors/", {"q": "zend"})
    assert b"Zendesk" in listing.content
    empty = client.get(f"/o/{org.slug}/build/connectors/", {"q": "nothing-like-it"})
    assert b"No connector matches" in empty.content


def test_invalid_connector_form_keeps_input_and_shows_inline_errors(org) -> None:
    response = client_for(org.owner).post(
        f"/o/{org.slug}/build/connectors/new/",
        {**CONNECTOR_FORM, "auth_method": "basic", "credential_fields": "username"},
    )
    assert response.status_code == 200
    assert b"needs the field(s) password" in response.content
    assert b'value="Zendesk"' in response.content


def test_every_save_makes_a_new_immutable_version(org) -> None:
    connector = _connector(org)
    client = client_for(org.owner)
    url = f"/o/{org.slug}/build/connectors/{connector.id}/edit/"
    for base in ("https://v2.example", "https://v3.example"):
        form = {
            **CONNECTOR_FORM,
            "name": "Acme CRM",
            "auth_method": "oauth2",
            "credential_fields": "access_token",
            "base_url": base,
        }
        assert client.post(url, form).status_code == 302
    versions = _versions(org, connector)
    assert [n for n, _ in versions] == [1, 2, 3]
    assert versions[0][1]["base_url"] == "https://crm.example"
    assert versions[1][1]["base_url"] == "https://v2.example"
    assert _reload(org, Connector, connector.id).current_version == 3
    page = client.get(f"/o/{org.slug}/build/connectors/{connector.id}/versions/1/")
    assert b"https://crm.example" in page.content


def test_saving_without_changes_makes_no_version(org) -> None:
    connector = _connector(org)
    form = {
        **CONNECTOR_FORM,
        "name": "Acme CRM",
        "description": "",
        "auth_method": "oauth2",
        "credential_fields": "access_token",
        "base_url": "https://crm.example",
    }
    client_for(org.owner).post(f"/o/{org.slug}/build/connectors/{connector.id}/edit/", form)
    assert [n for n, _ in _versions(org, connector)] == [1]


def test_deploy_to_test_and_prod_then_roll_prod_back(org) -> None:
    connector = _connector(org)
    client = client_for(org.owner)
    edit = f"/o/{org.slug}/build/connectors/{connector.id}/edit/"
    client.post(
        edit,
        {
            **CONNECTOR_FORM,
            "name": "Acme CRM v2",
            "auth_method": "oauth2",
            "credential_fields": "access_token",
        },
    )
    deploy = f"/o/{org.slug}/build/connectors/{connector.id}/deploy/"
    client.post(deploy, {"environment": "test", "number": 2})
    client.post(deploy, {"environment": "prod", "number": 2})
    connector = _reload(org, Connector, connector.id)
    assert (connector.test_version, connector.prod_version) == (2, 2)
    client.post(deploy, {"environment": "prod", "number": 1})
    assert _reload(org, Connector, connector.id).prod_version == 1
    with context(org_id=org.id, role=ORGANIZATION):
        actions = set(AuditLogEntry.objects.values_list("action", flat=True))
    assert {"connector.deploy_test", "connector.deploy_prod", "connector.rollback_prod"} <= actions


def test_deploying_a_version_that_does_not_exist_is_refused(org) -> None:
    connector = _connector(org)
    response = client_for(org.owner).post(
        f"/o/{org.slug}/build/connectors/{connector.id}/deploy/",
        {"environment": "prod", "number": 7},
        follow=True,
    )
    assert b"has no version 7" in response.content
    assert _reload(org, Connector, connector.id).prod_version is None


def test_provisional_organization_cannot_deploy_to_prod() -> None:
    org = make_org("Provisional Co", status="provisional")
    connector = _connector(org)
    client = client_for(org.owner)
    deploy = f"/o/{org.slug}/build/connectors/{connector.id}/deploy/"
    response = client.post(deploy, {"environment": "prod", "number": 1}, follow=True)
    assert b"Provisional organizations cannot deploy to prod" in response.content
    assert _reload(org, Connector, connector.id).prod_version is None
    client.post(deploy, {"environment": "test", "number": 1})
    assert _reload(org, Connector, connector.id).test_version == 1


def test_connector_used_by_a_connection_cannot_be_deleted(org) -> None:
    connector = _connector(org)
    make_connection(org, make_customer(org, region="eu"), connector)
    response = client_for(org.owner).post(
        f"/o/{org.slug}/build/connectors/{connector.id}/delete/", follow=True
    )
    assert b"still use" in response.content
    assert _reload(org, Connector, connector.id)


def test_owner_deletes_an_unused_connector_with_its_versions(org) -> None:
    connector = _connector(org)
    response = client_for(org.owner).post(f"/o/{org.slug}/build/connectors/{connector.id}/delete/")
    assert response.status_code == 302
    with context(org_id=org.id, role=ORGANIZATION):
        assert not Connector.objects.filter(id=connector.id).exists()
        assert not ConnectorVersion.objects.filter(connector_id=connector.id).exists()


def test_endpoint_on_a_private_address_is_refused(org, settings) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = False
    client = client_for(org.owner)
    for url in (
        "https://10.0.0.5/run",
        "http://example.com/run",
        "http://127.0.0.1:9/run",
        "https://169.254.169.254/latest",
        "https://localhost/run",
    ):
        response = client.post(
            f"/o/{org.slug}/build/agents/new/",
            {"name": "Bad", "endpoint_url": url, "input_schema": "{}"},
        )
        assert response.status_code == 200, url
        assert b"errorlist" in response.content, url


def test_input_schema_json_errors_show_line_and_column(org) -> None:
    response = client_for(org.owner).post(
        f"/o/{org.slug}/build/tools/new/",
        {"name": "Tool", "endpoint_url": "https://tool.example", "input_schema": '{\n  "a": 1,\n}'},
    )
    assert b"Line 3, column 1" in response.content


# Permissions --------------------------------------------------------------------------------

ROLE_ALLOWED = {
    "connectors.create": {catalog.OWNER, catalog.DEVELOPER},
    "connectors.update": {catalog.OWNER, catalog.DEVELOPER},
    "connectors.delete": {catalog.OWNER, catalog.DEVELOPER},
    "connectors.deploy_test": {catalog.OWNER, catalog.DEVELOPER},
    "connectors.deploy_prod": {catalog.OWNER, catalog.DEVELOPER},
    "agents.update": {catalog.OWNER, catalog.DEVELOPER},
    "tools.update": {catalog.OWNER, catalog.DEVELOPER},
    "agents.execute": {catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR},
    "tools.execute": {catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR},
}
ORG_ROLES = (catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER)


def _action(org, key, settings, target_url):
    """(method, url, data, check) performing ``key`` once; check() says whether it happened."""
    if key.startswith("connectors."):
        item = _connector(org)
        base = f"/o/{org.slug}/build/connectors/{item.id}/"
        form = {**CONNECTOR_FORM, "auth_method": "oauth2", "credential_fields": "access_token"}
        actions = {
            "connectors.create": (
                f"/o/{org.slug}/build/connectors/new/",
                CONNECTOR_FORM,
                lambda: _count(org, Connector) == 2,
            ),
            "connectors.update": (
                base + "edit/",
                form,
                lambda: _reload(org, Connector, item.id).current_version == 2,
            ),
            "connectors.delete": (base + "delete/", {}, lambda: _count(org, Connector) == 0),
            "connectors.deploy_test": (
                base + "deploy/",
                {"environment": "test", "number": 1},
                lambda: _reload(org, Connector, item.id).test_version == 1,
            ),
            "connectors.deploy_prod": (
                base + "deploy/",
                {"environment": "prod", "number": 1},
                lambda: _reload(org, Connector, item.id).prod_version == 1,
            ),
        }
        return actions[key]
    kind = key.split(".")[0]
    item = make_endpoint_item(org, kind, endpoint_url=target_url)
    model = type(item)
    base = f"/o/{org.slug}/build/{kind}/{item.id}/"
    if key.endswith(".update"):
        return (
            base + "deploy/",
            {"environment": "prod", "number": 1},
            lambda: _reload(org, model, item.id).prod_version == 1,
        )
    customer = make_customer(org, region="eu")
    return (
        base + "test/",
        {"customer": str(customer.id), "payload": '{"text": "hi"}'},
        lambda: _executions(customer) == 1,
    )


def _count(org, model):
    with context(org_id=org.id, role=ORGANIZATION):
        return model.objects.count()


def _executions(customer):
    with context(org_id=customer.org_id, customer_id=customer.id, role=ORGANIZATION):
        return ExecutionLog.objects.count()


def _test_a_new_agent(org, customer, payload: str):
    """Run a new agent from its test panel, as the Owner, for ``customer`` with ``payload``."""
    agent = make_endpoint_item(org, "agents")
    return client_for(org.owner).post(
        f"/o/{org.slug}/build/agents/{agent.id}/test/",
        {"customer": str(customer.id), "payload": payload},
    )


@pytest.mark.parametrize("role", ORG_ROLES)
@pytest.mark.parametrize("key", sorted(ROLE_ALLOWED))
def test_build_action_allowed_or_refused_by_role(world, org, settings, role, key) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    with running_target() as target:
        url, data, happened = _action(org, key, settings, target.url("/ok"))
        response = client_for(world.user(role)).post(url, data)
        if role in ROLE_ALLOWED[key]:
            assert response.status_code in (200, 302), response.content[:300]
            assert happened(), response.content.decode()[-3000:]
        else:
            assert response.status_code == 403
            assert not happened()


@pytest.mark.parametrize("role", ORG_ROLES)
def test_every_organization_role_reads_connectors_agents_and_tools(world, org, role) -> None:
    connector = _connector(org)
    agent = make_endpoint_item(org, "agents")
    client = client_for(world.user(role))
    assert client.get(f"/o/{org.slug}/build/connectors/").status_code == 200
    assert client.get(f"/o/{org.slug}/build/connectors/{connector.id}/").status_code == 200
    assert client.get(f"/o/{org.slug}/build/agents/{agent.id}/").status_code == 200


def test_viewer_sees_no_create_edit_or_deploy_buttons(world, org) -> None:
    connector = _connector(org)
    client = client_for(world.user(catalog.VIEWER))
    listing = client.get(f"/o/{org.slug}/build/connectors/")
    assert b"New connector" not in listing.content
    detail = client.get(f"/o/{org.slug}/build/connectors/{connector.id}/")
    assert b"Deploy to prod" not in detail.content
    assert b">Edit<" not in detail.content


def test_developer_sees_deploy_buttons(world, org) -> None:
    connector = _connector(org)
    detail = client_for(world.user(catalog.DEVELOPER)).get(
        f"/o/{org.slug}/build/connectors/{connector.id}/"
    )
    assert b"Deploy to prod" in detail.content
    assert b"Deploy to test" in detail.content


def test_end_user_cannot_open_build_pages(world, org) -> None:
    connector = _connector(org)
    end_user = world.user(catalog.END_USER)
    client = client_for(end_user)
    assert client.get(f"/o/{org.slug}/build/connectors/").status_code == 404
    assert client.get(f"/o/{org.slug}/build/connectors/{connector.id}/").status_code == 404


# Isolation ----------------------------------------------------------------------------------


def test_outsider_gets_404_for_every_build_object_url(world, org) -> None:
    other = world.other_org
    connector = _connector(org)
    agent = make_endpoint_item(org, "agents")
    tool = make_endpoint_item(org, "tools")
    outsider = client_for(other.owner)
    urls = [
        f"/o/{org.slug}/build/connectors/",
        f"/o/{org.slug}/build/connectors/{connector.id}/",
        f"/o/{org.slug}/build/agents/{agent.id}/test/",
        # Another organization's ids under the outsider's own slug.
        f"/o/{other.slug}/build/connectors/{connector.id}/",
        f"/o/{other.slug}/build/connectors/{connector.id}/edit/",
        f"/o/{other.slug}/build/connectors/{connector.id}/versions/1/",
        f"/o/{other.slug}/build/agents/{agent.id}/",
        f"/o/{other.slug}/build/agents/{agent.id}/test/",
        f"/o/{other.slug}/build/tools/{tool.id}/",
        f"/o/{other.slug}/build/tools/{tool.id}/delete/",
        f"/o/{other.slug}/build/connectors/{uuid.uuid4()}/",
    ]
    for url in urls:
        assert outsider.get(url).status_code == 404, url
    deploy = outsider.post(
        f"/o/{other.slug}/build/connectors/{connector.id}/deploy/",
        {"environment": "prod", "number": 1},
    )
    assert deploy.status_code == 404
    assert _reload(org, Connector, connector.id).prod_version is None


def test_test_panel_customer_of_another_organization_is_not_a_choice(world, org, settings) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    foreign = world.other_customer
    response = _test_a_new_agent(org, foreign, '{"text": "x"}')
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    assert _executions(foreign) == 0


# Test panel ---------------------------------------------------------------------------------


def test_test_panel_calls_the_endpoint_and_logs_in_the_customers_region(org, settings) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    customer = make_customer(org, region="eu")
    with running_target() as target:
        response = post_to_test_panel(org, customer, org.owner, target.url("/echo"))
    assert response.status_code == 200
    assert b"HTTP 200" in response.content
    assert b"&quot;hello&quot;" in response.content
    assert target.requests[0]["method"] == "POST"
    with context(org_id=org.id, role=ORGANIZATION):
        eu, us = region_alias("eu"), region_alias("us")
        log = ExecutionLog.objects.using(eu).get(customer_id=customer.id)
        assert (log.source, log.status) == ("tool", "completed")
        if us != eu:
            assert not ExecutionLog.objects.using(us).filter(customer_id=customer.id).exists()


def test_test_panel_checks_input_against_the_schema(org, settings) -> None:
    customer = make_customer(org)
    response = _test_a_new_agent(org, customer, '{"text": 5}')
    assert b"text: must be of type string" in response.content
    assert _executions(customer) == 0


def test_test_panel_refuses_a_suspended_customer(org, settings) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    customer = make_customer(org)
    set_status(customer, "suspended")
    response = _test_a_new_agent(org, customer, '{"text": "x"}')
    assert b"Select a valid choice" in response.content
    assert _executions(customer) == 0
