"""Event triggers (SPEC §11 "Triggers"): a workflow runs for the events its customer receives.

A workflow version lists the events it runs for in its definition —
``"triggers": [{"event": "order.created"}]`` (``dataplane.definitions``) — so what triggers a
run is decided, like what runs, by the version deployed to the environment the event was sent
to (``x-fastn-env``, prod by default). ``event_runs_queue`` queues one run per event and
workflow whose deployed version names it, each recording the event that triggered it
(``ExecutionLog.event``, read back by ``GET /api/v1/events/{id}``); they are handed to the
worker when the request's transaction commits, with the events themselves. A customer whose
state refuses runs keeps its events and starts none; a disabled workflow, or one with nothing
deployed to the environment, is not triggered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError

from customers.models import Customer, Organization
from customers.states import customer_require_runnable
from dataplane.definitions import event_trigger_names
from dataplane.models import Event, ExecutionLog, RunTrigger, Workflow, WorkflowVersion
from dataplane.services.primitives import require_customer_scope
from dataplane.services.runs import RunTarget, execution_queue


def _deployed_triggers(environment: str) -> list[tuple[Workflow, int, frozenset[str]]]:
    """Each enabled workflow of the customer in scope with a version deployed to
    ``environment``: the workflow, that version, and the events it runs for."""
    deployed = f"{environment}_version"
    workflows = {
        (workflow.id, getattr(workflow, deployed)): workflow
        for workflow in Workflow.objects.filter(enabled=True, **{f"{deployed}__isnull": False})
    }
    if not workflows:
        return []
    versions = WorkflowVersion.objects.filter(
        workflow_id__in={workflow_id for workflow_id, _ in workflows},
        number__in={number for _, number in workflows},
    ).values_list("workflow_id", "number", "definition")
    found = []
    for workflow_id, number, definition in versions:
        workflow = workflows.get((workflow_id, number))
        names = event_trigger_names(definition)
        if workflow is not None and names:
            found.append((workflow, number, names))
    return sorted(found, key=lambda item: (item[0].name, str(item[0].id)))


def event_runs_queue(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    events: Sequence[Event],
    environment: str,
) -> list[ExecutionLog]:
    """Queue the runs ``events`` (just stored for ``customer``) trigger in ``environment``."""
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
                    version=number, environment=environment, trigger=RunTrigger.EVENT, event=event
                )
                queued.append(execution_queue(acting_user, customer, workflow, target))
    return queued
