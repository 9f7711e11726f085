"""Workflows of a customer: validated JSON, versions, deploys, enable/disable, Run now on a real
Celery worker against a local HTTP server, permissions by role, outsiders get 404."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from dataplane.models import ExecutionLog, Workflow, WorkflowVersion
from roles import catalog
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    client_for,
    deploy_workflow,
    in_customer,
    make_connection,
    make_connector,
    make_workflow,
    set_customer_limit,
    set_status,
)
from tests.dataplane.targets import running_target
from tests.factories import make_customer, make_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _base(org, customer):
    return f"/o/{org.slug}/customers/{customer.id}/"


def _form(name="Sync", steps=None, **extra):
    steps = steps if steps is not None else [{"name": "ping", "url": "https://ok.example/"}]
    return {"name": name, "description": "", "definition": json.dumps({"steps": steps}), **extra}


def _workflow(org, customer, workflow_id):
    with in_customer(org, customer):
        return Workflow.objects.get(id=workflow_id)


def test_invalid_json_is_refused_with_line_and_column_and_the_text_is_kept(acme) -> None:
    org, customer = acme
    text = '{"steps": [\n  {"name": "a", "url": "https://x.example"},\n]}'
    response = client_for(org.owner).post(
        _base(org, customer) + "workflows/new/", {"name": "Broken", "definition": text}
    )
    assert response.status_code == 200
    assert b"Line 3, column 1" in response.content
    assert b"https://x.example" in response.content
    with in_customer(org, customer):
        assert not Workflow.objects.exists()


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([{"url": "https://x.example"}], "steps[0].name"),
        ([{"name": "a", "url": "ftp://x.example"}], "steps[0].url: Only https://"),
        ([{"name": "a", "url": "https://10.1.2.3/"}], "steps[0].url: Private"),
        ([{"name": "a", "url": "https://x.example", "method": "TRACE"}], "steps[0].method"),
        ([{"name": "a", "url": "https://x.example", "timeout_seconds": 99}], "timeout_seconds"),
        (
            [{"name": "a", "url": "https://x.example", "connection": str(uuid.uuid4())}],
            "not a connection of this customer",
        ),
        ([{"name": "a", "url": "https://x.example", "extra": 1}], "unknown key"),
    ],
)
def test_definition_schema_errors_name_the_step(acme, steps, message) -> None:
    org, customer = acme
    response = client_for(org.owner).post(
        _base(org, customer) + "workflows/new/", _form(steps=steps)
    )
    assert response.status_code == 200
    assert message in response.content.decode()


def test_oversized_definition_is_refused(acme) -> None:
    org, customer = acme
    steps = [{"name": f"s{i}", "url": "https://x.example/" + "a" * 4000} for i in range(20)]
    response = client_for(org.owner).post(
        _base(org, customer) + "workflows/new/", _form(steps=steps)
    )
    assert b"the limit is 65,536" in response.content


def test_a_connection_of_another_customer_cannot_be_used_in_a_step(acme) -> None:
    org, customer = acme
    other = make_customer(org, "Other")
    foreign = make_connection(org, other, make_connector(org))
    steps = [{"name": "a", "url": "https://x.example", "connection": str(foreign.id)}]
    response = client_for(org.owner).post(
        _base(org, customer) + "workflows/new/", _form(steps=steps)
    )
    assert b"not a connection of this customer" in response.content


def test_edits_make_versions_and_deploys_and_rollback_record_them(acme) -> None:
    org, customer = acme
    workflow = make_workflow(org, customer, [{"name": "a", "url": "https://one.example"}])
    client = client_for(org.owner)
    base = _base(org, customer) + f"workflows/{workflow.id}/"
    client.post(base + "edit/", _form(steps=[{"name": "a", "url": "https://two.example"}]))
    client.post(base + "deploy/", {"environment": "test", "number": 2})
    client.post(base + "deploy/", {"environment": "prod", "number": 2})
    client.post(base + "deploy/", {"environment": "prod", "number": 1})
    workflow = _workflow(org, customer, workflow.id)
    assert (workflow.current_version, workflow.test_version, workflow.prod_version) == (2, 2, 1)
    with in_customer(org, customer):
        versions = dict(WorkflowVersion.objects.values_list("number", "definition"))
    assert versions[1]["steps"][0]["url"] == "https://one.example"
    assert versions[2]["steps"][0]["url"] == "https://two.example"
    assert client.get(base + "versions/1/").status_code == 200


def test_provisional_organization_cannot_deploy_a_workflow_to_prod(settings) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    org = make_org("Provisional", status="provisional")
    customer = make_customer(org)
    workflow = make_workflow(org, customer, [{"name": "a", "url": "https://x.example"}])
    response = client_for(org.owner).post(
        _base(org, customer) + f"workflows/{workflow.id}/deploy/",
        {"environment": "prod", "number": 1},
        follow=True,
    )
    assert b"Provisional organizations cannot deploy to prod" in response.content
    assert _workflow(org, customer, workflow.id).prod_version is None


def test_disabled_workflow_cannot_run(acme) -> None:
    org, customer = acme
    workflow = make_workflow(org, customer, [{"name": "a", "url": "https://x.example"}])
    client = client_for(org.owner)
    base = _base(org, customer) + f"workflows/{workflow.id}/"
    client.post(base + "toggle/", {"enabled": "0"})
    assert _workflow(org, customer, workflow.id).enabled is False
    response = client.post(base + "run/", follow=True)
    assert b"disabled" in response.content
    with in_customer(org, customer):
        assert not ExecutionLog.objects.exists()


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
    response = client_for(org.owner).post(
        _base(org, customer) + "workflows/new/", _form(name="Second")
    )
    assert b"Workflows per customer limit (1) reached" in response.content


# Permissions --------------------------------------------------------------------------------

ALLOWED = {
    "workflows.create": {catalog.OWNER, catalog.DEVELOPER},
    "workflows.update": {catalog.OWNER, catalog.DEVELOPER},
    "workflows.delete": {catalog.OWNER, catalog.DEVELOPER},
    "workflows.execute": {catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR},
    "workflows.deploy_test": {catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR},
    "workflows.deploy_prod": {catalog.OWNER, catalog.DEVELOPER},
}
ROLES = (catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER, catalog.END_USER)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", sorted(ALLOWED))
def test_workflow_action_allowed_or_refused_by_role(world, acme, role, key) -> None:
    org, customer = acme
    workflow = make_workflow(org, customer, [{"name": "a", "url": "https://x.example"}])
    if key == "workflows.execute":
        deploy_workflow(org, customer, workflow, "test")  # Run now runs what test holds
    base = _base(org, customer)
    url, data = {
        "workflows.create": ("workflows/new/", _form(name="Another")),
        "workflows.update": (f"workflows/{workflow.id}/toggle/", {"enabled": "0"}),
        "workflows.delete": (f"workflows/{workflow.id}/delete/", {}),
        "workflows.execute": (f"workflows/{workflow.id}/run/", {}),
        "workflows.deploy_test": (
            f"workflows/{workflow.id}/deploy/",
            {"environment": "test", "number": 1},
        ),
        "workflows.deploy_prod": (
            f"workflows/{workflow.id}/deploy/",
            {"environment": "prod", "number": 1},
        ),
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
        "workflows.deploy_test": lambda: rows[0].test_version == 1,
        "workflows.deploy_prod": lambda: rows[0].prod_version == 1,
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
    assert b"Edit definition" not in page.content


def test_outsiders_get_404_for_workflows_versions_and_executions(world, acme) -> None:
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
        f"workflows/{workflow.id}/versions/1/",
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
