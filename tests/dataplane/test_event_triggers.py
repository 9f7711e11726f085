"""Event triggers (SPEC §11): a workflow whose deployed version lists an event under
``triggers`` runs for each event of that name its customer receives, in the environment the
event was sent to; the run names the event, which reads it back. Bad trigger definitions are
refused with their path."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from build.models import WorkflowDefinition
from dataplane import services
from dataplane.models import Event, ExecutionLog, Workflow
from tests.api.conftest import make_key
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    add_workflow,
    as_owner_in_customer,
    deploy_workflow,
    in_customer,
    redefine_workflow,
)
from tests.dataplane.targets import running_target
from tests.dataplane.test_workflows import _wait_for_end
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _workflow(org, customer, events: list[str], url: str = "https://hooks.example/", name=None):
    definition = {
        "triggers": [{"event": event} for event in events],
        "steps": [{"name": "notify", "url": url, "method": "POST"}],
    }
    return add_workflow(
        org, customer, definition, name=name or f"On {'/'.join(events) or 'nothing'}"
    )


def _post_event(customer, key: str, name: str, env: str | None = None, **payload: Any):
    headers = {"Authorization": f"Bearer {key}", "x-end-org-id": str(customer.id)}
    if env is not None:
        headers["x-fastn-env"] = env
    return Client().post(
        "/api/v1/events",
        {"name": name, "payload": payload or {"order": 1}},
        content_type="application/json",
        headers=headers,
    )


def _runs(org, customer) -> list[ExecutionLog]:
    with in_customer(org, customer):
        return list(ExecutionLog.objects.filter(source="workflow").order_by("created_at", "id"))


def test_an_event_queues_each_workflow_deployed_to_prod_that_names_it(acme) -> None:
    org, customer = acme
    on_order = _workflow(org, customer, ["order.created"])
    on_both = _workflow(org, customer, ["order.created", "order.paid"], name="Both")
    on_paid = _workflow(org, customer, ["order.paid"])
    for workflow in (on_order, on_both, on_paid):
        deploy_workflow(org, customer, workflow, "prod")
    response = _post_event(customer, make_key(org, "operator"), "order.created")
    assert response.status_code == 202
    event_id = response.json()["id"]
    runs = _runs(org, customer)
    assert {run.workflow_id for run in runs} == {on_order.id, on_both.id}
    assert {(run.trigger, run.environment, run.version) for run in runs} == {("event", "prod", 1)}
    assert {str(run.event_id) for run in runs} == {event_id}


def test_the_event_reads_back_the_runs_it_triggered(acme) -> None:
    org, customer = acme
    deploy_workflow(org, customer, _workflow(org, customer, ["signup"]), "prod")
    key = make_key(org, "operator")
    event_id = _post_event(customer, key, "signup").json()["id"]
    detail = Client().get(
        f"/api/v1/events/{event_id}",
        headers={"Authorization": f"Bearer {key}", "x-end-org-id": str(customer.id)},
    )
    assert detail.status_code == 200
    [run] = detail.json()["executions"]
    assert run["trigger"] == "event" and run["status"] == "queued"


def test_the_environment_decides_which_version_and_whether_it_runs(acme) -> None:
    org, customer = acme
    workflow = _workflow(org, customer, ["order.created"])
    deploy_workflow(org, customer, workflow, "test")
    key = make_key(org, "operator")
    assert _post_event(customer, key, "order.created").status_code == 202
    assert _runs(org, customer) == []  # nothing deployed to prod
    assert _post_event(customer, key, "order.created", env="test").status_code == 202
    [run] = _runs(org, customer)
    assert (run.environment, run.version) == ("test", 1)


def test_a_trigger_added_after_the_deploy_waits_for_its_version_to_be_deployed(acme) -> None:
    org, customer = acme
    workflow = _workflow(org, customer, [])
    deploy_workflow(org, customer, workflow, "prod")
    redefine_workflow(
        org,
        customer,
        workflow,
        {"triggers": [{"event": "late"}], "steps": [{"name": "s", "url": "https://a.example/"}]},
    )
    key = make_key(org, "operator")
    _post_event(customer, key, "late")
    assert _runs(org, customer) == []
    deploy_workflow(org, customer, workflow, "prod", 2)
    _post_event(customer, key, "late")
    [run] = _runs(org, customer)
    assert run.version == 2


def test_a_disabled_workflow_and_other_names_trigger_nothing(acme) -> None:
    org, customer = acme
    workflow = _workflow(org, customer, ["order.created"])
    deploy_workflow(org, customer, workflow, "prod")
    as_owner_in_customer(
        services.workflow_set_enabled, org, customer, workflow=workflow, enabled=False
    )
    key = make_key(org, "operator")
    _post_event(customer, key, "order.created")
    _post_event(customer, key, "order.cancelled")
    assert _runs(org, customer) == []


def test_another_customers_workflow_is_not_triggered(acme, world: World) -> None:
    org, customer = acme
    sibling = world.second_customer
    deploy_workflow(org, sibling, _workflow(org, sibling, ["order.created"]), "prod")
    _post_event(customer, make_key(org, "operator"), "order.created")
    assert _runs(org, customer) == [] and _runs(org, sibling) == []


def test_a_refused_batch_stores_and_runs_nothing(acme) -> None:
    org, customer = acme
    deploy_workflow(org, customer, _workflow(org, customer, ["order.created"]), "prod")
    response = Client().post(
        "/api/v1/events/batch",
        {
            "events": [
                {"name": "order.created", "payload": {}},
                {"name": "order.created", "payload": {"text": "\u0000"}},
            ]
        },
        content_type="application/json",
        headers={
            "Authorization": f"Bearer {make_key(org, 'operator')}",
            "x-end-org-id": str(customer.id),
        },
    )
    assert response.status_code == 400
    assert _runs(org, customer) == []
    with in_customer(org, customer):
        assert not Event.objects.exists()


def test_a_bad_environment_header_stores_nothing(acme) -> None:
    org, customer = acme
    deploy_workflow(org, customer, _workflow(org, customer, ["order.created"]), "prod")
    response = _post_event(customer, make_key(org, "operator"), "order.created", env="staging")
    assert response.status_code == 400
    assert _runs(org, customer) == []
    with in_customer(org, customer):
        assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("triggers", "says"),
    [
        ({"event": "x"}, '"triggers" must be a list'),
        (["order.created"], "triggers[0]: each trigger is an object"),
        ([{"event": ""}], "triggers[0].event: the name of an event"),
        ([{"event": "x" * 121}], "triggers[0].event: at most 120 characters"),
        ([{"event": "a"}, {"event": "a"}], "triggers[1].event: 'a' is already a trigger"),
        ([{"event": "a", "cron": "* * * * *"}], "triggers[0]: unknown key(s) cron"),
    ],
)
def test_bad_triggers_are_refused_with_their_path(acme, triggers: Any, says: str) -> None:
    org, customer = acme
    with pytest.raises(ValidationError) as refused:
        add_workflow(
            org,
            customer,
            {
                "triggers": triggers,
                "steps": [{"name": "s", "url": "https://a.example/"}],
            },
            name=f"Bad {uuid.uuid4().hex[:6]}",
        )
    assert any(says in message for message in refused.value.messages), refused.value.messages
    with in_customer(org, customer):
        assert not WorkflowDefinition.objects.filter(name__startswith="Bad ").exists()
        assert not Workflow.objects.exists()


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_triggered_run_calls_out_on_a_real_worker(acme, celery_worker) -> None:
    org, customer = acme
    with running_target() as target:
        workflow = _workflow(org, customer, ["order.created"], url=target.url("/orders"))
        deploy_workflow(org, customer, workflow, "prod")
        assert _post_event(customer, make_key(org, "operator"), "order.created").status_code == 202
        [queued] = _runs(org, customer)
        run = _wait_for_end(org, customer, queued.id)
    assert run.status == "completed", run.message
    assert [request["path"] for request in target.requests] == ["/orders"]
