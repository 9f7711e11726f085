"""A customer's workflows: one of the organization's definitions added, its connections chosen,
enabled and disabled, Run now on a real Celery worker against a local HTTP server with the
customer's connection, removed; permissions by role, outsiders get 404. The definitions
themselves are tested in tests/build/test_workflow_definitions.py."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from dataplane.models import ExecutionLog, Workflow
from roles import catalog
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    add_workflow,
    client_for,
    deploy_workflow,
    in_customer,
    make_connection,
    make_connector,
    make_definition,
    make_workflow,
    redefine_workflow,
    set_customer_limit,
    set_status,
)
from tests.dataplane.targets import running_target
from tests.factories import make_customer

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

STEPS = [{"name": "ping", "url": "https://ok.example/"}]


def _base(org, customer):
    return f"/o/{org.slug}/customers/{customer.id}/"


def _workflow(org, customer, workflow_id):
    with in_customer(org, customer):
        return Workflow.objects.get(id=workflow_id)


def _workflows(org, customer):
    with in_customer(org, customer):
        return list(Workflow.objects.all())


def test_a_customer_adds_an_organization_workflow_once(acme) -> None:
    org, customer = acme
    definition = make_definition(org, {"steps": STEPS}, name="Order sync")
    client = client_for(org.owner)
    listing = client.get(_base(org, customer) + "workflows/new/?q=order")
    assert b"Order sync" in listing.content
    response = client.post(_base(org, customer) + "workflows/new/", {"definition": definition.id})
    assert response.status_code == 302
    [workflow] = _workflows(org, customer)
    assert workflow.definition_id == definition.id and workflow.enabled
    addable = client.get(_base(org, customer) + "workflows/new/").content
    assert f'value="{definition.id}"'.encode() not in addable
    again = client.post(
        _base(org, customer) + "workflows/new/", {"definition": definition.id}, follow=True
    )
    assert b"already has Order sync" in again.content
    assert len(_workflows(org, customer)) == 1


def test_a_definition_of_another_organization_cannot_be_added(world, acme) -> None:
    org, customer = acme
    foreign = make_definition(world.other_org, {"steps": STEPS}, name="Globex flow")
    response = client_for(org.owner).post(
        _base(org, customer) + "workflows/new/", {"definition": foreign.id}, follow=True
    )
    assert b"Choose one of the organization" in response.content
    assert _workflows(org, customer) == []


def test_choosing_connections_is_checked_per_connector(acme) -> None:
    org, customer = acme
    crm = make_connector(org, name="Acme CRM", base_url="https://crm.example")
    mine = make_connection(org, customer, crm)
    other = make_customer(org, "Other", region=customer.region)
    foreign = make_connection(org, other, crm)
    workflow = make_workflow(org, customer, [{"name": "a", "url": "https://crm.example/x"}])
    redefine_workflow(
        org,
        customer,
        workflow,
        {"steps": [{"name": "a", "url": "https://crm.example/x", "connector": crm.slug}]},
    )
    client = client_for(org.owner)
    edit = _base(org, customer) + f"workflows/{workflow.id}/edit/"
    page = client.get(edit)
    assert b"Connection for Acme CRM" in page.content
    refused = client.post(edit, {f"connection_{crm.slug}": str(foreign.id)})
    assert refused.status_code == 200
    assert _workflow(org, customer, workflow.id).connections == {}
    assert client.post(edit, {f"connection_{crm.slug}": str(mine.id)}).status_code == 302
    assert _workflow(org, customer, workflow.id).connections == {crm.slug: str(mine.id)}


@pytest.mark.parametrize("status", ["suspended", "pending_activation"])
def test_run_now_is_refused_for_an_inactive_customer(acme, status) -> None:
    org, customer = acme
    workflow = make_workflow(org, customer, [{"name": "a", "url": "https://x.example"}])
    set_status(customer, status)
    response = client_for(org.owner).post(
        _base(org, customer) + f"workflows/{workflow.id}/run/", follow=True
    )
    assert b"runs are refused" in response.content
    with in_customer(org, customer):
        assert not ExecutionLog.objects.exists()


def test_workflow_count_limit_is_enforced(acme) -> None:
    org, customer = acme
    set_customer_limit(org, customer, "workflows_per_customer", 1)
    make_workflow(org, customer, [{"name": "a", "url": "https://x.example"}])
    second = make_definition(org, {"steps": STEPS}, name="Second")
    response = client_for(org.owner).post(
        _base(org, customer) + "workflows/new/", {"definition": second.id}, follow=True
    )
    assert b"Workflows per customer limit (1) reached" in response.content
    assert len(_workflows(org, customer)) == 1


# Permissions --------------------------------------------------------------------------------

ALLOWED = {
    "workflows.create": {catalog.OWNER, catalog.DEVELOPER},
    "workflows.update": {catalog.OWNER, catalog.DEVELOPER},
    "workflows.delete": {catalog.OWNER, catalog.DEVELOPER},
    "workflows.execute": {catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR},
}
ROLES = (catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER, catalog.END_USER)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", sorted(ALLOWED))
def test_workflow_action_allowed_or_refused_by_role(world, acme, role, key) -> None:
    org, customer = acme
    workflow = make_workflow(org, customer, [{"name": "a", "url": "https://x.example"}])
    if key == "workflows.execute":
        deploy_workflow(org, customer, workflow, "test")  # Run now runs what test holds
    another = make_definition(org, {"steps": STEPS}, name="Another")
    base = _base(org, customer)
    url, data = {
        "workflows.create": ("workflows/new/", {"definition": another.id}),
        "workflows.update": (f"workflows/{workflow.id}/toggle/", {"enabled": "0"}),
        "workflows.delete": (f"workflows/{workflow.id}/delete/", {}),
        "workflows.execute": (f"workflows/{workflow.id}/run/", {}),
    }[key]
    response = client_for(world.user(role)).post(base + url, data)
    with in_customer(org, customer):
        rows = list(Workflow.objects.all())
        runs = ExecutionLog.objects.count()
    happened = {
        "workflows.create": lambda: len(rows) == 2,
        "workflows.update": lambda: rows[0].enabled is False,
        "workflows.delete": lambda: rows == [],
        "workflows.execute": lambda: runs == 1,
    }[key]
    if role in ALLOWED[key]:
        assert response.status_code == 302
        assert happened()
    else:
        assert response.status_code == 403
        assert not happened()


def test_operator_sees_run_now_but_not_edit(world, acme) -> None:
    org, customer = acme
    workflow = make_workflow(org, customer, [{"name": "a", "url": "https://x.example"}])
    page = client_for(world.user(catalog.OPERATOR)).get(
        _base(org, customer) + f"workflows/{workflow.id}/"
    )
    assert b"Run now" in page.content
    assert b"Choose connections" not in page.content
    assert f"workflows/{workflow.id}/delete/".encode() not in page.content


def test_outsiders_get_404_for_workflows_and_executions(world, acme) -> None:
    org, customer = acme
    workflow = make_workflow(org, customer, [{"name": "a", "url": "https://x.example"}])
    with in_customer(org, customer):
        from dataplane import services

        execution = services.execution_log_create_unchecked(workflow=workflow)
    sibling = make_customer(org, "Sibling", region="eu")  # the same region's database
    globex, globex_customer = world.other_org, world.other_customer
    owner, outsider = client_for(org.owner), client_for(globex.owner)
    paths = [
        f"workflows/{workflow.id}/",
        f"workflows/{workflow.id}/edit/",
        f"executions/{execution.id}/",
    ]
    for path in paths:
        assert owner.get(_base(org, sibling) + path).status_code == 404, path
        assert outsider.get(_base(globex, globex_customer) + path).status_code == 404, path
        assert outsider.get(_base(org, customer) + path).status_code == 404, path
    for path in ("run/", "delete/", "toggle/"):
        response = owner.post(_base(org, sibling) + f"workflows/{workflow.id}/{path}")
        assert response.status_code == 404, path
    assert _workflow(org, customer, workflow.id).enabled


# Run now on a real worker -------------------------------------------------------------------


def _wait_for_end(org, customer, execution_id, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with in_customer(org, customer):
            execution = ExecutionLog.objects.get(id=execution_id)
        if execution.status not in ("queued", "running"):
            return execution
        time.sleep(0.2)
    raise AssertionError(f"execution still {execution.status} after {seconds} s")


def _run(org, customer, steps):
    workflow = make_workflow(org, customer, steps, name=f"Run {uuid.uuid4().hex[:6]}")
    deploy_workflow(org, customer, workflow, "test")  # Run now runs what test holds
    response = client_for(org.owner).post(_base(org, customer) + f"workflows/{workflow.id}/run/")
    assert response.status_code == 302
    execution_id = uuid.UUID(response["Location"].rstrip("/").rsplit("/", 1)[1])
    return _wait_for_end(org, customer, execution_id)


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_run_now_executes_every_step_with_the_connections_credentials(acme, celery_worker) -> None:
    org, customer = acme
    with running_target() as target:
        # Credentials go only to the connector's hosts: it declares the local server's.
        connector = make_connector(org, base_url=target.url("/"))
        connection = make_connection(org, customer, connector, token="good-token")
        execution = _run(
            org,
            customer,
            [
                {"name": "read", "url": target.url("/auth"), "connection": str(connection.id)},
                {"name": "write", "url": target.url("/ok"), "method": "POST", "body": {"n": 1}},
            ],
        )
    assert execution.status == "completed", execution.message
    assert execution.started_at and execution.finished_at and execution.duration_ms is not None
    assert "2 step(s) completed" in execution.message
    assert target.requests[0]["headers"]["Authorization"] == "Bearer good-token"
    assert json.loads(target.requests[1]["body"]) == {"n": 1}


def _run_on_target(org, customer, *steps):
    """Run the steps against a local target: each step's ``url`` is a path on it."""
    with running_target() as target:
        execution = _run(
            org,
            customer,
            [{**step, "url": target.url(step["url"])} for step in steps],
        )
    return execution, target


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_failing_step_fails_the_run_and_stops_it(acme, celery_worker) -> None:
    org, customer = acme
    execution, target = _run_on_target(
        org, customer, {"name": "boom", "url": "/fail"}, {"name": "never", "url": "/ok"}
    )
    assert execution.status == "failed"
    assert "step 1 'boom' failed: HTTP 500" in execution.message
    assert [r["path"] for r in target.requests] == ["/fail"]


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_slow_step_times_out(acme, celery_worker) -> None:
    org, customer = acme
    execution, _ = _run_on_target(
        org, customer, {"name": "slow", "url": "/slow", "timeout_seconds": 1}
    )
    assert execution.status == "timeout"
    assert "timed out" in execution.message
    assert execution.duration_ms is not None and execution.duration_ms < 2900


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_an_oversized_response_fails_the_run(acme, celery_worker) -> None:
    org, customer = acme
    execution, _ = _run_on_target(org, customer, {"name": "big", "url": "/big"})
    assert execution.status == "failed"
    assert "larger than 1,048,576 bytes" in execution.message


@pytest.mark.parametrize("role", ROLES)
def test_choosing_connections_is_allowed_or_refused_by_role(world, acme, role) -> None:
    org, customer = acme
    crm = make_connector(org, name="Acme CRM", base_url="https://crm.example")
    connection = make_connection(org, customer, crm)
    step = {"name": "a", "url": "https://crm.example/x", "connector": crm.slug}
    workflow = add_workflow(org, customer, {"steps": [step]})
    response = client_for(world.user(role)).post(
        _base(org, customer) + f"workflows/{workflow.id}/edit/",
        {f"connection_{crm.slug}": str(connection.id)},
    )
    chosen = _workflow(org, customer, workflow.id).connections
    if role in ALLOWED["workflows.update"]:
        assert response.status_code == 302
        assert chosen == {crm.slug: str(connection.id)}
    else:
        assert response.status_code == 403
        assert chosen == {}
