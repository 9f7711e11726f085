"""Schedule triggers (SPEC §11): a workflow whose version deployed to prod lists a cron schedule
(UTC) runs at the minutes it names, at most once per minute even when the beat task is
delivered twice or two beats run; each organization's and customer's runs in their own scope.
Bad cron expressions are refused with their path."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.exceptions import ValidationError

from build.models import WorkflowDefinition
from customers.models import Customer, CustomerStatus
from dataplane import services
from dataplane.models import ExecutionLog, Workflow
from dataplane.schedule_tasks import run_schedules_task
from dataplane.schedules import cron_matches
from fastn_console.celery import app
from tenancy.context import ORGANIZATION, context
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

# A Wednesday.
NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
QUARTER_PAST = NOON.replace(minute=15)
TEN_PAST = NOON.replace(minute=10)


def _definition(schedule: str, url: str = "https://hooks.example/") -> dict[str, Any]:
    return {
        "triggers": [{"schedule": schedule}],
        "steps": [{"name": "sync", "url": url, "method": "POST"}],
    }


def _scheduled(org, customer, schedule: str, *, deploy: str | None = "prod", url=None) -> Workflow:
    workflow = add_workflow(
        org,
        customer,
        _definition(schedule, *([url] if url else [])),
        name=f"Every {schedule} {uuid.uuid4().hex[:4]}",
    )
    if deploy:
        deploy_workflow(org, customer, workflow, deploy)
    return workflow


def _runs(org, customer) -> list[ExecutionLog]:
    with in_customer(org, customer):
        return list(ExecutionLog.objects.filter(trigger="schedule").order_by("scheduled_for"))


def _refused(org, customer, name: str, triggers: Any) -> list[str]:
    """The messages with which saving a workflow with ``triggers`` is refused."""
    with pytest.raises(ValidationError) as refused:
        add_workflow(org, customer, {"triggers": triggers, "steps": []}, name=name)
    return refused.value.messages


def _tick(moment: datetime) -> int:
    return int(run_schedules_task(moment.isoformat()))


# --- Cron in UTC -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "moment", "matches"),
    [
        ("* * * * *", NOON, True),
        ("*/15 * * * *", QUARTER_PAST, True),
        ("*/15 * * * *", TEN_PAST, False),
        ("0 12 * * 3", NOON, True),  # Wednesday is 3, Sunday 0
        ("0 12 * * 1", NOON, False),
        ("0 12 * * mon-fri", NOON, True),
        ("0 9 * * *", NOON, False),
        ("0 12 2 12 *", NOON, True),
        ("0 12 3 12 *", NOON, False),
    ],
)
def test_cron_expressions_name_minutes_in_utc(
    expression: str, moment: datetime, matches: bool
) -> None:
    assert cron_matches(expression, moment) is matches


@pytest.mark.parametrize(
    ("schedule", "says"),
    [
        ("61 * * * *", "triggers[0].schedule: '61 * * * *' does not parse"),
        ("* * * *", "has 5 fields"),
        ("* * * * * *", "this one has 6"),
        ("every hour", "this one has 2"),
        ("", "a cron expression in UTC"),
        (15, "a cron expression in UTC"),
    ],
)
def test_a_schedule_that_does_not_parse_is_refused_and_nothing_saved(
    acme, schedule: Any, says: str
) -> None:
    org, customer = acme
    messages = _refused(org, customer, "Bad schedule", [{"schedule": schedule}])
    assert any(says in message for message in messages), messages
    with in_customer(org, customer):
        assert not WorkflowDefinition.objects.filter(name="Bad schedule").exists()
        assert not Workflow.objects.exists()


def test_a_trigger_names_exactly_one_kind(acme) -> None:
    org, customer = acme
    messages = _refused(org, customer, "Both", [{"event": "x", "schedule": "* * * * *"}])
    assert 'triggers[0]: exactly one of "event" or "schedule".' in messages


# --- The beat task -----------------------------------------------------------------------------


def test_the_beat_runs_the_task_at_the_start_of_every_minute() -> None:
    [entry] = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "dataplane.run_schedules"
    ]
    assert isinstance(entry["schedule"], crontab)
    assert entry["schedule"].minute == set(range(60))
    app.loader.import_default_modules()
    assert "dataplane.run_schedules" in app.tasks


def test_a_due_workflow_runs_its_prod_version_once_per_minute(acme) -> None:
    org, customer = acme
    workflow = _scheduled(org, customer, "*/15 * * * *")
    assert _tick(NOON) == 1
    # The same minute again: a redelivered task, or a second beat.
    assert _tick(NOON.replace(second=40)) == 0
    assert _tick(TEN_PAST) == 0
    assert _tick(QUARTER_PAST) == 1
    runs = _runs(org, customer)
    assert [run.scheduled_for for run in runs] == [NOON, QUARTER_PAST]
    assert {(run.workflow_id, run.environment, run.version) for run in runs} == {
        (workflow.id, "prod", 1)
    }
    assert "scheduled for 2026-12-02 12:00 UTC" in runs[0].message


def test_the_database_refuses_a_second_run_for_the_same_minute(acme) -> None:
    org, customer = acme
    workflow = _scheduled(org, customer, "* * * * *")
    _tick(NOON)
    with in_customer(org, customer), pytest.raises(Exception, match="dataplane_exec_schedule_once"):
        ExecutionLog.objects.create(
            org_id=org.id,
            customer_id=customer.id,
            workflow=workflow,
            scheduled_for=NOON,
            trigger="schedule",
        )


def test_only_what_is_deployed_to_prod_and_enabled_is_scheduled(acme) -> None:
    org, customer = acme
    _scheduled(org, customer, "* * * * *", deploy="test")
    _scheduled(org, customer, "* * * * *", deploy=None)
    disabled = _scheduled(org, customer, "* * * * *")
    as_owner_in_customer(
        services.workflow_set_enabled, org, customer, workflow=disabled, enabled=False
    )
    assert _tick(NOON) == 0
    assert _runs(org, customer) == []


def test_a_schedule_added_in_a_new_version_waits_for_its_deploy(acme) -> None:
    org, customer = acme
    workflow = add_workflow(
        org, customer, {"steps": [{"name": "s", "url": "https://a.example/"}]}, name="Later"
    )
    deploy_workflow(org, customer, workflow, "prod")
    redefine_workflow(org, customer, workflow, _definition("* * * * *"))
    assert _tick(NOON) == 0
    deploy_workflow(org, customer, workflow, "prod", 2)
    assert _tick(NOON) == 1
    assert [run.version for run in _runs(org, customer)] == [2]


def test_every_organizations_customers_run_in_their_own_scope(acme, world: World) -> None:
    org, customer = acme
    _scheduled(org, customer, "0 12 * * *")
    _scheduled(org, world.second_customer, "0 12 * * *")  # another region
    _scheduled(world.other_org, world.other_customer, "0 12 * * *")
    assert _tick(NOON) == 3
    for owner, someone in (
        (org, customer),
        (org, world.second_customer),
        (world.other_org, world.other_customer),
    ):
        [run] = _runs(owner, someone)
        assert (run.org_id, run.customer_id) == (owner.id, someone.id)


def test_a_customer_whose_state_refuses_runs_is_skipped_and_others_run(acme, world: World) -> None:
    org, customer = acme
    _scheduled(org, customer, "* * * * *")
    _scheduled(org, world.second_customer, "* * * * *")
    with context(org_id=org.id, role=ORGANIZATION):
        Customer.objects.filter(id=customer.id).update(status=CustomerStatus.SUSPENDED)
    assert _tick(NOON) == 1
    assert _runs(org, customer) == []
    assert len(_runs(org, world.second_customer)) == 1


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_scheduled_run_sent_through_the_broker_calls_out_on_a_real_worker(
    acme, celery_worker
) -> None:
    org, customer = acme
    with running_target() as target:
        _scheduled(org, customer, "* * * * *", url=target.url("/sync"))
        # Twice for the same minute, as a redelivery or a second beat would: the solo worker
        # takes them in turn, and the run one of them queues after both.
        for _ in range(2):
            app.send_task("dataplane.run_schedules", kwargs={"tick": NOON.isoformat()})
        deadline = time.monotonic() + 30
        while not _runs(org, customer) and time.monotonic() < deadline:
            time.sleep(0.2)
        [queued] = _runs(org, customer)
        run = _wait_for_end(org, customer, queued.id)
        assert len(_runs(org, customer)) == 1
    assert run.status == "completed", run.message
    assert [request["path"] for request in target.requests] == ["/sync"]
