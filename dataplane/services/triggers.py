"""Event and schedule triggers (SPEC §11 "Triggers"): a workflow runs for the events its
customer receives, and on the minutes its cron schedule names.

A version of an organization's workflow definition (``build.models.WorkflowDefinition``) lists
the events it runs for — ``"triggers": [{"event": "order.created"}]`` (``dataplane.definitions``)
— so what triggers a run is decided, like what runs, by the version deployed to the environment
the event was sent to (``x-fastn-env``, prod by default), for every customer that has the
workflow enabled. ``event_runs_queue`` queues one run per event and
workflow whose deployed version names it, each recording the event that triggered it
(``ExecutionLog.event``, read back by ``GET /api/v1/events/{id}``); they are handed to the
worker when the request's transaction commits, with the events themselves. A customer whose
state refuses runs keeps its events and starts none; a disabled workflow, or one with nothing
deployed to the environment, is not triggered.

A schedule (``{"schedule": "*/15 * * * *"}``, UTC, ``dataplane.schedules``) runs the version
deployed to prod. Each minute ``dataplane.schedule_tasks`` asks ``scheduled_workflows_due``, in
each organization's organization-wide scope, which workflows of its live customers are due — the
definitions deployed to prod whose schedule names the minute, then the customers' workflows of
them, each customer's read in its current region only, so a relocation in progress runs
nothing twice — and queues each with ``scheduled_run_queue`` in the customer's own scope. The
execution records the minute (``ExecutionLog.scheduled_for``), unique with the workflow: a
redelivered task or a second beat asking for the same minute queues nothing more.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, router, transaction

from build.deploys import PROD
from build.models import WorkflowDefinition, WorkflowDefinitionVersion
from customers.models import Customer, Organization
from customers.states import customer_require_runnable
from dataplane.definitions import event_trigger_names, schedule_triggers
from dataplane.models import Event, ExecutionLog, RunTrigger, Workflow
from dataplane.schedules import cron_matches
from dataplane.services.primitives import require_customer_scope
from dataplane.services.runs import RunTarget, execution_queue
from tenancy.context import region_alias, require_scope


def _deployed_definitions(environment: str) -> dict[uuid.UUID, tuple[int, dict[str, Any]]]:
    """The organization's workflow definitions with a version deployed to ``environment``: id →
    (that version's number, its definition). Two queries, on the control plane."""
    deployed = f"{environment}_version"
    numbers: dict[uuid.UUID, int] = dict(
        WorkflowDefinition.objects.filter(**{f"{deployed}__isnull": False}).values_list(
            "id", deployed
        )
    )
    if not numbers:
        return {}
    versions = WorkflowDefinitionVersion.objects.filter(
        workflow_id__in=list(numbers), number__in=set(numbers.values())
    ).values_list("workflow_id", "number", "snapshot")
    return {
        definition_id: (number, snapshot.get("definition") or {})
        for definition_id, number, snapshot in versions
        if numbers.get(definition_id) == number
    }


def _deployed_triggers(environment: str) -> list[tuple[Workflow, int, frozenset[str]]]:
    """The customer in scope's enabled workflows whose version deployed to ``environment`` runs
    for events: the workflow, that version, and the events it runs for."""
    names_by_definition = {
        definition_id: (number, names)
        for definition_id, (number, definition) in _deployed_definitions(environment).items()
        if (names := event_trigger_names(definition))
    }
    if not names_by_definition:
        return []
    workflows = Workflow.objects.filter(enabled=True, definition_id__in=list(names_by_definition))
    return [
        (workflow, *names_by_definition[workflow.definition_id])
        for workflow in workflows.order_by("created_at", "id")
    ]


def event_runs_queue(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    events: Sequence[Event],
    environment: str,
    trigger: str = RunTrigger.EVENT,
) -> list[ExecutionLog]:
    """Queue the runs ``events`` (just stored for ``customer``) trigger in ``environment``;
    ``trigger`` says how they came (the API's events, or an inbound webhook)."""
    require_customer_scope(customer)
    try:
        customer_require_runnable(organization=organization, customer=customer)
    except ValidationError:
        return []
    triggers = _deployed_triggers(environment)
    queued = []
    for event in events:
        for workflow, number, names in triggers:
            if event.name in names:
                target = RunTarget(
                    version=number, environment=environment, trigger=trigger, event=event
                )
                queued.append(execution_queue(acting_user, customer, workflow, target))
    return queued


@dataclass(frozen=True)
class DueRun:
    """A workflow a schedule makes due at a minute: its customer, and the version in prod."""

    customer_id: uuid.UUID
    workflow_id: uuid.UUID
    version: int


def scheduled_workflows_due(*, tick: datetime) -> list[DueRun]:
    """The workflows of the organization in scope whose version deployed to prod has a schedule
    naming the minute ``tick`` (UTC), for its customers, each read in its current region."""
    scope = require_scope()
    if scope.org_id is None or scope.customer_id is not None:
        raise ValueError("Ask which schedules are due in an organization-wide scope.")
    customers: dict[str, list[uuid.UUID]] = {}
    live = Customer.objects.live().values_list("id", "region")
    for customer_id, region in live:
        customers.setdefault(region_alias(region), []).append(customer_id)
    due_versions = {
        definition_id: number
        for definition_id, (number, definition) in _deployed_definitions(PROD).items()
        if any(cron_matches(cron, tick) for cron in schedule_triggers(definition))
    }
    due: list[DueRun] = []
    if not due_versions:
        return due
    for alias, customer_ids in customers.items():
        workflows = Workflow.objects.using(alias).filter(
            customer_id__in=customer_ids, enabled=True, definition_id__in=list(due_versions)
        )
        for customer_id, workflow_id, definition_id in workflows.values_list(
            "customer_id", "id", "definition_id"
        ):
            due.append(DueRun(customer_id, workflow_id, due_versions[definition_id]))
    return sorted(due, key=lambda run: (str(run.customer_id), str(run.workflow_id)))


def scheduled_run_queue(
    *, organization: Organization, customer: Customer, due: DueRun, tick: datetime
) -> ExecutionLog | None:
    """Queue ``due`` for the minute ``tick`` in ``customer``'s scope; ``None`` when that minute
    already has its run of the workflow (or the customer, or workflow, may not run now)."""
    require_customer_scope(customer)
    try:
        customer_require_runnable(organization=organization, customer=customer)
    except ValidationError:
        return None
    workflow = Workflow.objects.filter(id=due.workflow_id, enabled=True).first()
    if workflow is None or workflow.prod_version != due.version:
        return None  # changed since it was found due: the next minute reads it again
    minute = tick.replace(second=0, microsecond=0)
    if ExecutionLog.objects.filter(workflow=workflow, scheduled_for=minute).exists():
        return None
    target = RunTarget(
        version=due.version, environment=PROD, trigger=RunTrigger.SCHEDULE, scheduled_for=minute
    )
    try:
        with transaction.atomic(using=router.db_for_write(ExecutionLog)):
            return execution_queue(None, customer, workflow, target)
    except IntegrityError:
        return None  # another beat, or a redelivered task, queued it a moment ago
