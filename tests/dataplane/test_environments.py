"""Environments decide what runs (SPEC §11): a run executes the version deployed to its
environment (console: test, or prod on request; API: prod, or test with ``x-fastn-env``),
nothing deployed there is refused, each execution records workflow, version, environment and
trigger, the executions lists filter by them, and a failed run can be replayed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from dataplane.models import ExecutionLog, Workflow
from roles import catalog
from tenancy.context import region_alias
from tests.api.conftest import make_key
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    client_for,
    deploy_workflow,
    in_customer,
    make_workflow,
    redefine_workflow,
)
from tests.dataplane.targets import running_target
from tests.dataplane.test_workflows import _wait_for_end
from tests.factories import make_customer

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def edit(org, customer, workflow, steps) -> None:
    redefine_workflow(org, customer, workflow, {"steps": steps})


def step(url: str, name: str = "call") -> dict[str, str]:
    return {"name": name, "url": url}


def base(org, customer) -> str:
    return f"/o/{org.slug}/customers/{customer.id}/"


def executions(org, customer) -> list[ExecutionLog]:
    with in_customer(org, customer):
        return list(ExecutionLog.objects.order_by("created_at"))


def api_run(org, customer, workflow, key, env: str | None = None):
    headers = {"Authorization": f"Bearer {key}", "x-end-org-id": str(customer.id)}
    if env is not None:
        headers["x-fastn-env"] = env
    return Client().post(f"/api/v1/workflows/{workflow.id}/run", headers=headers)


def api_executions(org, customer, key, **params):
    headers = {"Authorization": f"Bearer {key}", "x-end-org-id": str(customer.id)}
    return Client().get("/api/v1/executions", params, headers=headers)


@pytest.fixture
def three_versions(acme) -> Workflow:
    """v1 live in prod, v2 live in test, v3 the latest edit, deployed nowhere."""
    org, customer = acme
    workflow = make_workflow(org, customer, [step("https://one.example/")])
    edit(org, customer, workflow, [step("https://two.example/")])
    edit(org, customer, workflow, [step("https://three.example/")])
    deploy_workflow(org, customer, workflow, "prod", 1)
    deploy_workflow(org, customer, workflow, "test", 2)
    return workflow


# Which version runs ---------------------------------------------------------------------------


def test_the_api_runs_prod_by_default_and_test_on_request(acme, three_versions) -> None:
    org, customer = acme
    key = make_key(org, "operator")
    prod = api_run(org, customer, three_versions, key)
    test = api_run(org, customer, three_versions, key, env="test")
    assert prod.status_code == 202 and test.status_code == 202
    assert (prod.json()["environment"], prod.json()["version"]) == ("prod", 1)
    assert (test.json()["environment"], test.json()["version"]) == ("test", 2)
    rows = executions(org, customer)
    assert [(r.version, r.environment, r.trigger) for r in rows] == [
        (1, "prod", "manual"),
        (2, "test", "manual"),
    ]
    assert {(r.workflow_id, r.customer_id) for r in rows} == {(three_versions.id, customer.id)}


def test_nothing_deployed_to_test_answers_409_not_deployed(acme) -> None:
    org, customer = acme
    workflow = make_workflow(org, customer, [step("https://one.example/")])
    deploy_workflow(org, customer, workflow, "prod", 1)
    response = api_run(org, customer, workflow, make_key(org, "operator"), env="test")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_deployed"
    assert "deployed to test" in response.json()["error"]["message"]
    assert executions(org, customer) == []


def test_nothing_deployed_to_prod_answers_409_by_default(acme) -> None:
    org, customer = acme
    workflow = make_workflow(org, customer, [step("https://one.example/")])
    response = api_run(org, customer, workflow, make_key(org, "operator"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_deployed"


@pytest.mark.parametrize("env", ["staging", "", "production", "TEST", "test,prod"])
def test_an_unknown_environment_header_is_400(acme, three_versions, env) -> None:
    org, customer = acme
    response = api_run(org, customer, three_versions, make_key(org, "operator"), env=env)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert "x-fastn-env" in response.json()["error"]["message"]
    assert executions(org, customer) == []


def test_the_console_runs_test_and_prod_on_request(acme, three_versions) -> None:
    org, customer = acme
    client = client_for(org.owner)
    url = base(org, customer) + f"workflows/{three_versions.id}/run/"
    page = client.get(base(org, customer) + f"workflows/{three_versions.id}/").content.decode()
    assert "Run in test (v2)" in page and "Run in prod (v1)" in page
    response = client.post(url, follow=True)  # the test panel's default: test
    assert "Run queued: version 2 in test." in response.content.decode()
    client.post(url, {"environment": "prod"})
    assert [(r.version, r.environment) for r in executions(org, customer)] == [
        (2, "test"),
        (1, "prod"),
    ]
    detail = client.get(response.redirect_chain[-1][0]).content.decode()
    for shown in ("Version", "v2", "Environment", "Test", "Trigger", "Manual"):
        assert shown in detail


def test_a_console_test_run_with_nothing_in_test_says_so(acme) -> None:
    org, customer = acme
    workflow = make_workflow(org, customer, [step("https://one.example/")])
    response = client_for(org.owner).post(
        base(org, customer) + f"workflows/{workflow.id}/run/", follow=True
    )
    assert "No version of Sync is deployed to test: deploy one to test first." in (
        response.content.decode()
    )
    assert executions(org, customer) == []


def test_an_unknown_console_environment_is_refused(acme, three_versions) -> None:
    org, customer = acme
    response = client_for(org.owner).post(
        base(org, customer) + f"workflows/{three_versions.id}/run/",
        {"environment": "staging"},
        follow=True,
    )
    assert "Choose test or prod to run in." in response.content.decode()
    assert executions(org, customer) == []


def test_existing_rows_read_as_prod_and_manual(acme) -> None:
    """Rows written without the new columns (older code, raw inserts in benches)."""
    org, customer = acme
    with in_customer(org, customer):
        with connections[region_alias(customer.region)].cursor() as cursor:
            cursor.execute(
                "INSERT INTO dataplane_executionlog (id, org_id, customer_id, created_at, source,"
                " status, message) VALUES (%s, %s, %s, now(), 'workflow', 'completed', '')",
                [uuid.uuid4(), org.id, customer.id],
            )
    (row,) = executions(org, customer)
    assert (row.environment, row.trigger, row.version, row.replay_of_id) == (
        "prod",
        "manual",
        None,
        None,
    )


# Real runs on the worker -----------------------------------------------------------------------


def _queued_id(response) -> uuid.UUID:
    assert response.status_code == 302, response.content
    return uuid.UUID(response["Location"].rstrip("/").rsplit("/", 1)[1])


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_each_environment_executes_its_deployed_definition_and_replay_reruns_it(
    acme, celery_worker
) -> None:
    org, customer = acme
    client = client_for(org.owner)
    with running_target() as target:
        workflow = make_workflow(org, customer, [step(target.url("/ok?v=1"))])
        edit(org, customer, workflow, [step(target.url("/fail?v=2"))])
        edit(org, customer, workflow, [step(target.url("/ok?v=3"))])
        deploy_workflow(org, customer, workflow, "prod", 1)
        deploy_workflow(org, customer, workflow, "test", 2)
        run_url = base(org, customer) + f"workflows/{workflow.id}/run/"

        failed = _wait_for_end(org, customer, _queued_id(client.post(run_url)))
        served = api_run(org, customer, workflow, make_key(org, "operator"))
        assert served.status_code == 202
        prod = _wait_for_end(org, customer, served.json()["id"])
        # Test now holds v3; the replay still runs what the failed run ran: v2, in test.
        deploy_workflow(org, customer, workflow, "test", 3)
        replay_url = base(org, customer) + f"executions/{failed.id}/replay/"
        replay = _wait_for_end(org, customer, _queued_id(client.post(replay_url)))
    assert (failed.status, failed.version, failed.environment) == ("failed", 2, "test")
    assert failed.message.startswith("Version 2:")
    assert (prod.status, prod.version, prod.environment) == ("completed", 1, "prod")
    assert (replay.status, replay.version, replay.environment) == ("failed", 2, "test")
    assert replay.replay_of_id == failed.id
    assert [r["path"] for r in target.requests] == ["/fail?v=2", "/ok?v=1", "/fail?v=2"]
    page = client.get(base(org, customer) + f"executions/{replay.id}/").content.decode()
    assert "Replay of" in page and str(failed.id) in page


# Replay ------------------------------------------------------------------------------------


def _log(org, customer, workflow, **fields) -> ExecutionLog:
    values = {"status": "failed", "version": 1, "environment": "test", **fields}
    with in_customer(org, customer):
        return ExecutionLog.objects.create(
            org_id=org.id, customer_id=customer.id, workflow=workflow, **values
        )


REPLAY_ALLOWED = {catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR}


@pytest.mark.parametrize(
    "role", [catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER, catalog.END_USER]
)
def test_replay_is_allowed_to_who_may_run_workflows(world, acme, role) -> None:
    org, customer = acme
    workflow = make_workflow(org, customer, [step("https://one.example/")])
    failed = _log(org, customer, workflow)
    client = client_for(world.user(role))
    page = client.get(base(org, customer) + f"executions/{failed.id}/")
    response = client.post(base(org, customer) + f"executions/{failed.id}/replay/")
    replays = [r for r in executions(org, customer) if r.replay_of_id == failed.id]
    if role in REPLAY_ALLOWED:
        assert b"Replay version 1 in test" in page.content
        assert response.status_code == 302
        (replay,) = replays
        assert (replay.status, replay.version, replay.environment, replay.trigger) == (
            "queued",
            1,
            "test",
            "manual",
        )
        assert response["Location"].endswith(f"executions/{replay.id}/")
    else:
        assert b"Replay version" not in page.content
        assert response.status_code == 403
        assert replays == []


@pytest.mark.parametrize("status", ["completed", "queued", "running"])
def test_only_a_failed_run_is_replayed(acme, status) -> None:
    org, customer = acme
    workflow = make_workflow(org, customer, [step("https://one.example/")])
    log = _log(org, customer, workflow, status=status)
    client = client_for(org.owner)
    assert (
        b"Replay version" not in client.get(base(org, customer) + f"executions/{log.id}/").content
    )
    response = client.post(base(org, customer) + f"executions/{log.id}/replay/", follow=True)
    assert b"Only a failed run of a known workflow version can be replayed." in response.content
    assert len(executions(org, customer)) == 1


def test_a_timed_out_run_is_replayed_but_not_a_run_of_unknown_version(acme) -> None:
    org, customer = acme
    workflow = make_workflow(org, customer, [step("https://one.example/")])
    timed_out = _log(org, customer, workflow, status="timeout", environment="prod")
    unknown = _log(org, customer, workflow, version=None)
    client = client_for(org.owner)
    assert (
        client.post(base(org, customer) + f"executions/{timed_out.id}/replay/").status_code == 302
    )
    client.post(base(org, customer) + f"executions/{unknown.id}/replay/")
    replays = [r for r in executions(org, customer) if r.replay_of_id]
    assert [(r.replay_of_id, r.environment) for r in replays] == [(timed_out.id, "prod")]


def test_outsiders_get_404_for_replay(world, acme) -> None:
    org, customer = acme
    workflow = make_workflow(org, customer, [step("https://one.example/")])
    failed = _log(org, customer, workflow)
    sibling = make_customer(org, "Sibling", region="eu")
    owner, outsider = client_for(org.owner), client_for(world.other_org.owner)
    path = f"executions/{failed.id}/replay/"
    assert owner.post(base(org, sibling) + path).status_code == 404
    assert outsider.post(base(org, customer) + path).status_code == 404
    assert outsider.post(base(world.other_org, world.other_customer) + path).status_code == 404
    assert len(executions(org, customer)) == 1


# Filters -------------------------------------------------------------------------------------

AGES = {
    "A": timedelta(minutes=5),
    "B": timedelta(minutes=30),
    "C": timedelta(hours=3),
    "D": timedelta(days=2),
    "E": timedelta(days=20),
    "F": timedelta(days=60),
}


@pytest.fixture
def logs(acme) -> dict[str, Workflow]:
    """Executions A–F of Northwind (eu) and G of Hooli (us), each with its name as message."""
    org, customer = acme
    w1 = make_workflow(org, customer, [step("https://one.example/")], name="Alpha")
    w2 = make_workflow(org, customer, [step("https://two.example/")], name="Beta")
    rows = {
        "A": (w1, "test", "failed"),
        "B": (w2, "prod", "completed"),
        "C": (w1, "prod", "completed"),
        "D": (w2, "test", "failed"),
        "E": (w1, "prod", "failed"),
        "F": (None, "prod", "completed"),
    }
    now = timezone.now()
    for name, (workflow, environment, status) in rows.items():
        log = _log(
            org, customer, workflow, environment=environment, status=status, message=f"row-{name}"
        )
        with in_customer(org, customer):
            ExecutionLog.objects.filter(id=log.id).update(created_at=now - AGES[name])
    return {"Alpha": w1, "Beta": w2}


def _shown(content: bytes) -> set[str]:
    text = content.decode()
    return {name for name in "ABCDEFG" if f"row-{name}" in text}


FILTERS = [
    ({"workflow": "Alpha"}, set("ACE")),
    ({"status": "failed"}, set("ADE")),
    ({"environment": "test"}, set("AD")),
    ({"period": "15m"}, set("A")),
    ({"period": "1h"}, set("AB")),
    ({"period": "24h"}, set("ABC")),
    ({"period": "7d"}, set("ABCD")),
    ({"period": "30d"}, set("ABCDE")),
    ({"environment": "prod", "status": "completed", "workflow": "Beta"}, set("B")),
]


def _query(params, logs, *, by_definition: bool = False) -> dict[str, str]:
    """The filters as a query string: a customer's list names its workflow, the organization's
    page the organization's workflow definition."""
    query = {"period": "all", **params}
    if "workflow" in query:
        workflow = logs[query["workflow"]]
        query["workflow"] = str(workflow.definition_id if by_definition else workflow.id)
    return query


@pytest.mark.parametrize(("params", "expected"), FILTERS)
def test_the_customer_executions_tab_filters(acme, logs, params, expected) -> None:
    org, customer = acme
    response = client_for(org.owner).get(base(org, customer) + "executions/", _query(params, logs))
    assert response.status_code == 200
    assert _shown(response.content) == expected
    assert b"<th>Workflow</th>" in response.content


@pytest.mark.parametrize(("params", "expected"), FILTERS)
def test_the_organization_executions_page_filters(world, acme, logs, params, expected) -> None:
    org, _customer = acme
    response = client_for(org.owner).get(
        f"/o/{org.slug}/executions/", _query(params, logs, by_definition=True)
    )
    assert response.status_code == 200
    assert _shown(response.content) == expected
    assert b"Alpha" in response.content and b"<th>Workflow</th>" in response.content


def test_the_customer_tab_keeps_its_seven_day_default_and_says_what_it_ignored(acme, logs) -> None:
    org, customer = acme
    client = client_for(org.owner)
    assert _shown(client.get(base(org, customer) + "executions/").content) == set("ABCD")
    response = client.get(
        base(org, customer) + "executions/", {"environment": "staging", "period": "all"}
    )
    assert _shown(response.content) == set("ABCDEF")
    assert b"Unknown environment in the link" in response.content


def test_the_organization_page_merges_regions_under_the_filters(world, acme, logs) -> None:
    org, _customer = acme
    hooli = world.second_customer  # us region
    workflow = make_workflow(org, hooli, [step("https://three.example/")], name="Gamma")
    _log(org, hooli, workflow, environment="test", message="row-G")
    client = client_for(org.owner)
    url = f"/o/{org.slug}/executions/"
    assert _shown(client.get(url, {"environment": "test"}).content) == set("ADG")
    gamma = client.get(url, {"workflow": str(workflow.definition_id)})
    assert _shown(gamma.content) == set("G")
    assert f'<option value="{workflow.definition_id}" selected>Gamma</option>' in (
        gamma.content.decode()
    )


def _bulk(org, customer, count, environment) -> None:
    with in_customer(org, customer):
        ExecutionLog.objects.bulk_create(
            ExecutionLog(
                org_id=org.id,
                customer_id=customer.id,
                environment=environment,
                status="completed",
                message=f"bulk-{environment}",
            )
            for _ in range(count)
        )


@pytest.mark.parametrize(
    ("path", "per_page"), [("customers/{customer}/executions/", 25), ("executions/", 50)]
)
def test_filters_are_kept_across_pages(acme, path, per_page) -> None:
    org, customer = acme
    _bulk(org, customer, per_page + 1, "test")
    _bulk(org, customer, 3, "prod")
    client = client_for(org.owner)
    url = f"/o/{org.slug}/" + path.format(customer=customer.id)
    first = client.get(url, {"environment": "test", "period": "24h"}).content.decode()
    assert first.count("bulk-test") == per_page and "bulk-prod" not in first
    assert '?environment=test&amp;period=24h&amp;page=2">Next' in first
    second = client.get(url, {"environment": "test", "period": "24h", "page": 2}).content.decode()
    assert second.count("bulk-test") == 1 and "bulk-prod" not in second


def test_the_api_filters_executions_by_environment_and_since(acme, logs) -> None:
    org, customer = acme
    key = make_key(org, "viewer")

    def listed(**params) -> set[str]:
        response = api_executions(org, customer, key, **params)
        assert response.status_code == 200, response.content
        return {item["id"] for item in response.json()["items"]}

    with in_customer(org, customer):
        by_message = {log.message[-1]: str(log.id) for log in ExecutionLog.objects.all()}

    def ids(names: str) -> set[str]:
        return {by_message[name] for name in names}

    assert listed(environment="test") == ids("AD")
    assert listed(since="1h") == ids("AB")
    assert listed(since="30d", environment="prod") == ids("BCE")
    since = (timezone.now() - timedelta(hours=4)).isoformat()
    assert listed(since=since) == ids("ABC")
    assert listed(workflow_id=str(logs["Alpha"].id), since="7d") == ids("AC")
    bad = api_executions(org, customer, key, since="yesterday")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    assert api_executions(org, customer, key, environment="staging").status_code == 422
    item = api_executions(org, customer, key, environment="test").json()["items"][0]
    assert (item["version"], item["environment"], item["trigger"]) == (1, "test", "manual")
    assert item["replay_of_id"] is None
