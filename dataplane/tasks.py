"""Workflow runs on the Celery worker (docs/WORKFLOWS.md describes a run step by step).

``run_workflow`` enters the customer's context three times instead of using ``tenant_task``'s
single scope: ``tenant_task`` keeps one transaction open for the whole task, which would hide
the ``running`` state until the end and hold a database transaction (and a pooled connection)
across slow HTTP calls. Here each state change commits on its own, and the HTTP calls run with
no transaction open. Like ``tenant_task``, a call without its ids raises instead of running
unscoped.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from dataplane import services
from tenancy.context import ORGANIZATION, TenantContextMissing, context


# At most MAX_STEPS (20) calls of OUTBOUND_TIMEOUT_SECONDS (10 s) each, plus the bookkeeping; at the
# soft limit the run is recorded as failed.
@shared_task(name="dataplane.run_workflow", acks_late=True, soft_time_limit=240, time_limit=270)
def run_workflow(
    *, org_id: str, customer_id: str, execution_id: str, version: int, **_: Any
) -> str:
    if not org_id or not customer_id:
        raise TenantContextMissing("run_workflow needs org_id= and customer_id=.")
    with context(org_id=org_id, customer_id=customer_id, role=ORGANIZATION):
        steps = services.execution_start(execution_id=execution_id, version=version)
    if steps is None:
        return "skipped"
    try:
        outcome = services.workflow_steps_execute(steps=steps, version=version)
    except Exception as exc:  # noqa: BLE001 - a crash must still finish the execution
        outcome = services.RunOutcome(
            "failed", f"Version {version}: internal error ({exc.__class__.__name__}).", 0
        )
    with context(org_id=org_id, customer_id=customer_id, role=ORGANIZATION):
        services.execution_finish(execution_id=execution_id, outcome=outcome)
    return str(outcome.status)
