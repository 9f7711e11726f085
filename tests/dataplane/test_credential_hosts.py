"""Credentials go only to the hosts their connector declares (SPEC §11): a workflow step that
would send a connection's credentials anywhere else is refused when the workflow definition is
saved and again when it runs — including a definition saved before the connector changed its hosts, or
written past the service."""

from __future__ import annotations

import json

import pytest

from build.models import Connector, WorkflowDefinition, WorkflowDefinitionVersion
from build.services import CONNECTORS, build_item_update
from dataplane import services
from dataplane.models import ExecutionLog, ExecutionStatus
from dataplane.tasks import run_workflow
from roles import catalog
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    allow_local_outbound,
    client_for,
    in_customer,
    make_connection,
    make_connector,
    make_workflow,
)
from tests.dataplane.targets import running_target
from tests.factories import make_customer, make_member, make_org
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def acme(world: World, settings):
    allow_local_outbound(settings)
    org, customer = world.org, world.customer
    connector = make_connector(
        org, extra_hosts=["api.crm.example", "auth.crm.example:8443"]
    )  # base URL https://crm.example
    connection = make_connection(org, customer, connector)
    return org, customer, connector, connection


def _save(org, url, connector, *, user=None, path="new/"):
    """Save a workflow definition whose one step calls ``url`` (with ``connector``'s
    credentials, unless ``None``) through Build → Workflows."""
    step = {"name": "call", "url": url}
    if connector is not None:
        step["connector"] = connector.slug
    form = {"name": "Sync", "description": "", "definition": json.dumps({"steps": [step]})}
    return client_for(user or make_member(org, catalog.DEVELOPER).user).post(
        f"/o/{org.slug}/build/workflows/{path}", form
    )


def _definitions(org):
    with context(org_id=org.id, role=ORGANIZATION):
        return list(WorkflowDefinition.objects.all())


@pytest.mark.parametrize(
    "url",
    [
        "https://attacker.example/collect",
        "https://crm.example.attacker.example/",  # the declared host as a prefix
        "https://evilcrm.example/",
        "https://attacker.example/crm.example/",  # the declared host in the path
        "https://attacker.example/?u=https://crm.example",
        "https://evil.crm.example/",  # a subdomain is another host
        "https://crm.example:8443/",  # another port is another service
        "https://auth.crm.example/",  # declared with :8443 only
        "https://api.crm.example.attacker.example/",
    ],
)
def test_a_step_sending_credentials_to_an_undeclared_host_is_refused_at_save(acme, url) -> None:
    org, _, connector, _ = acme
    response = _save(org, url, connector)
    assert response.status_code == 200
    assert "is not a host of connector Acme CRM" in response.content.decode()
    assert _definitions(org) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example/deals",
        "https://CRM.Example/deals",
        "https://crm.example:443/deals",
        "https://crm.example./deals",
        "https://api.crm.example/v2/deals",
        "https://auth.crm.example:8443/token",
    ],
)
def test_a_step_may_send_credentials_to_the_connectors_hosts(acme, url) -> None:
    org, _, connector, _ = acme
    assert _save(org, url, connector).status_code == 302
    assert len(_definitions(org)) == 1


def test_a_step_naming_no_connector_may_call_any_public_host(acme) -> None:
    org, _, _, _ = acme
    assert _save(org, "https://hooks.example/in", None).status_code == 302


def test_an_edit_cannot_point_a_step_with_credentials_elsewhere(acme) -> None:
    org, customer, _, connection = acme
    workflow = make_workflow(
        org,
        customer,
        [{"name": "a", "url": "https://crm.example/", "connection": str(connection.id)}],
    )
    connector = acme[2]
    response = _save(
        org, "https://attacker.example/", connector, path=f"{workflow.definition_id}/edit/"
    )
    assert "is not a host of connector" in response.content.decode()
    [saved] = _definitions(org)
    assert (saved.current_version, saved.definition["steps"][0]["url"]) == (
        1,
        "https://crm.example/",
    )


def test_a_connector_without_hosts_lets_no_step_use_its_credentials(settings) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    org = make_org("Acme")
    customer = make_customer(org)
    connector = make_connector(org, base_url="")
    make_connection(org, customer, connector)
    response = _save(org, "https://crm.example/", connector, user=org.owner)
    assert "none are declared" in response.content.decode()


# At run time ------------------------------------------------------------------------------


def _run_now(org, customer, workflow) -> ExecutionLog:
    """Queue an execution and run it here, as the worker would (``run_workflow``)."""
    with in_customer(org, customer):
        execution = services.execution_log_create_unchecked(
            workflow=workflow, status=ExecutionStatus.QUEUED
        )
        version = workflow.current_version
    run_workflow(
        org_id=str(org.id),
        customer_id=str(customer.id),
        execution_id=str(execution.id),
        version=version,
    )
    with in_customer(org, customer):
        return ExecutionLog.objects.get(id=execution.id)


def test_a_run_is_refused_once_the_connector_no_longer_declares_the_host(settings) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    org = make_org("Acme")
    customer = make_customer(org, region="eu")
    with running_target() as target:
        connector = make_connector(org, name="Local", base_url=target.url("/"))
        connection = make_connection(org, customer, connector, token="good-token")
        step = {"name": "read", "url": target.url("/auth"), "connection": str(connection.id)}
        workflow = make_workflow(org, customer, [step])
        assert _run_now(org, customer, workflow).status == "completed"
        with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
            connector = Connector.objects.get(id=connector.id)
            build_item_update(
                acting_user=org.owner,
                organization=org,
                kind=CONNECTORS,
                item=connector,
                data={
                    **{f: getattr(connector, f) for f in CONNECTORS.fields},
                    "base_url": "https://crm.example",
                },
            )
        execution = _run_now(org, customer, workflow)
    assert execution.status == "failed"
    assert "step 1 'read' not run" in execution.message
    assert "is not a host of connector Local" in execution.message
    assert len(target.requests) == 1  # the first run only
    assert target.requests[0]["headers"]["Authorization"] == "Bearer good-token"


def test_a_definition_written_past_the_checks_is_refused_at_run(settings) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    org = make_org("Acme")
    customer = make_customer(org)
    connector = make_connector(org)  # https://crm.example
    connection = make_connection(org, customer, connector, token="good-token")
    with running_target() as target:
        steps = [
            {"name": "ok", "url": target.url("/ok")},
            {"name": "leak", "url": target.url("/auth"), "connector": connector.slug},
        ]
        with context(org_id=org.id, role=ORGANIZATION):
            legacy = WorkflowDefinition.objects.create(
                org=org, name="Legacy", slug="legacy", definition={"steps": steps}
            )
            WorkflowDefinitionVersion.objects.create(
                org=org, workflow=legacy, number=1, snapshot={"definition": {"steps": steps}}
            )
        with in_customer(org, customer):
            workflow = services.workflow_create_unchecked(
                definition_id=legacy.id, connections={connector.slug: str(connection.id)}
            )
        execution = _run_now(org, customer, workflow)
    assert execution.status == "failed"
    assert "step 2 'leak' not run" in execution.message
    assert [r["path"] for r in target.requests] == ["/ok"]
    assert all("Authorization" not in r["headers"] for r in target.requests)


# What a connector declares -----------------------------------------------------------------

CONNECTOR_FORM = {
    "name": "Zendesk",
    "description": "",
    "auth_method": "api_key",
    "credential_fields": "api_key",
    "base_url": "https://zendesk.example",
}


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        ("10.0.0.1", "Private"),
        ("localhost", "Private"),
        ("[::ffff:127.0.0.1]", "Private"),
        ("[64:ff9b::a9fe:a9fe]", "Private"),
        ("https://api.example.com/path", "no scheme or path"),
        ("user@api.example.com", "no scheme or path"),
        ("api.example.com, api.example.com", "Each host once"),
    ],
)
def test_a_connector_cannot_declare_an_internal_or_malformed_host(settings, hosts, message) -> None:
    org = make_org("Acme")
    response = client_for(org.owner).post(
        f"/o/{org.slug}/build/connectors/new/", {**CONNECTOR_FORM, "extra_hosts": hosts}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    with context(org_id=org.id, role=ORGANIZATION):
        assert not Connector.objects.exists()


def test_a_connectors_further_hosts_are_saved_and_versioned(settings) -> None:
    org = make_org("Acme")
    client = client_for(org.owner)
    response = client.post(
        f"/o/{org.slug}/build/connectors/new/",
        {**CONNECTOR_FORM, "extra_hosts": "API.example.com,  auth.example.com:8443"},
    )
    assert response.status_code == 302
    with context(org_id=org.id, role=ORGANIZATION):
        connector = Connector.objects.get()
        snapshot = connector.versions.get().snapshot
    assert connector.extra_hosts == ["api.example.com", "auth.example.com:8443"]
    assert snapshot["extra_hosts"] == connector.extra_hosts
    assert connector.credential_hosts() == [
        "api.example.com:443",
        "auth.example.com:8443",
        "zendesk.example:443",
    ]
