"""Workflow runs on the Celery worker (docs/WORKFLOWS.md describes a run step by step).

``run_workflow`` enters the customer's context three times instead of using ``tenant_task``'s
single scope: ``tenant_task`` keeps one transaction open for the whole task, which would hide
the ``running`` state until the end and hold a database transaction (and a pooled connection)
across slow HTTP calls. Here each state change commits on its own, and the HTTP calls run with
no transaction open. Like ``tenant_task``, a call without its ids raises instead of running
unscoped.

``oauth_refresh_task`` does the same for one OAuth 2.0 connection's token refresh (the call to
the token URL between two short transactions), and ``oauth_refresh_sweep_task`` — beat, every
minute — queues one for each connection whose access token expires soon (``dataplane.oauth``).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from customers.models import Organization
from dataplane import oauth_refresh, services
from dataplane.models import Connection
from dataplane.selectors import each_region
from tenancy.context import ORGANIZATION, TenantContextMissing, context
from tenancy.tasks import publish


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

    def enter() -> Any:
        return context(org_id=org_id, customer_id=customer_id, role=ORGANIZATION)

    def reauthorize(step: services.PlannedStep) -> dict[str, str] | None:
        return oauth_refresh.oauth_headers_after_401(
            connection_id=step.refreshable_connection_id, stale_headers=step.headers, enter=enter
        )

    try:
        outcome = services.workflow_steps_execute(
            steps=steps, version=version, reauthorize=reauthorize
        )
    except Exception as exc:  # noqa: BLE001 - a crash must still finish the execution
        outcome = services.RunOutcome(
            "failed", f"Version {version}: internal error ({exc.__class__.__name__}).", 0
        )
    with context(org_id=org_id, customer_id=customer_id, role=ORGANIZATION):
        services.execution_finish(execution_id=execution_id, outcome=outcome)
    return str(outcome.status)


# One token call (TOKEN_TIMEOUT_SECONDS, dataplane.oauth) and two short transactions; a worker
# stopped mid-call leaves the lease, which expires (REFRESH_LEASE), and the next sweep retries.
@shared_task(name="dataplane.oauth_refresh", acks_late=True, soft_time_limit=30, time_limit=40)
def oauth_refresh_task(*, org_id: str, customer_id: str, connection_id: str, **_: Any) -> str:
    if not org_id or not customer_id:
        raise TenantContextMissing("oauth_refresh needs org_id= and customer_id=.")
    status, _token = oauth_refresh.oauth_refresh(
        connection_id=connection_id,
        enter=lambda: context(org_id=org_id, customer_id=customer_id, role=ORGANIZATION),
    )
    return status


# No tenant: it reads the organizations (readable to every context, SPEC §5.5), then each
# one's connections due for a refresh across its regions. Ends before beat sends the next.
@shared_task(
    name="dataplane.oauth_refresh_sweep", acks_late=True, soft_time_limit=45, time_limit=55
)
def oauth_refresh_sweep_task() -> int:
    queued = 0
    for org_id in list(Organization.objects.live().values_list("id", flat=True)):
        with context(org_id=org_id, role=ORGANIZATION):
            regions = each_region(oauth_refresh.connections_due_for_refresh, Connection)
        due = [pair for region in regions for pair in region]
        for customer_id, connection_id in due:
            kwargs = {
                "org_id": str(org_id),
                "customer_id": customer_id,
                "connection_id": connection_id,
            }
            queued += int(publish(oauth_refresh_task, kwargs=kwargs))
    return queued
