"""Calling out: the headers credentials become, executions logged for single calls (connection
tests, build test panels) and the workflow run engine (docs/WORKFLOWS.md).

No outbound call runs inside a database transaction (``outbound.request`` refuses to). A
single call made for a request goes through ``call_outside_transaction``: plan it in the
caller's scope, call with no transaction open, record what it left in a fresh scope. A workflow
run is queued by ``workflow_run`` (the version deployed to its environment, SPEC §11),
``workflow_replay`` (a failed run's version again, in its environment) or an event
(``dataplane.services.triggers``), all through ``execution_queue``, and carried out by
``dataplane.tasks.run_workflow`` in the same three steps — ``execution_start``,
``workflow_steps_execute`` (no database access), ``execution_finish`` — each in its own
transaction.

Credentials go only to the hosts their connector declares (SPEC §11,
``Connector.credentials_refusal``): a step that would send them elsewhere is refused when the
workflow is saved and again when it runs.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from audit import actions
from build.deploys import ENVIRONMENTS
from build.models import AuthMethod, Connector
from customers.models import Customer, Organization
from customers.states import customer_require_runnable
from dataplane import outbound
from dataplane.encryption import CredentialsUnreadable, decrypt_credentials
from dataplane.models import (
    Configuration,
    Connection,
    Event,
    ExecutionLog,
    ExecutionStatus,
    RunTrigger,
    Workflow,
)
from dataplane.placeholders import fill, placeholder_keys
from dataplane.selectors import workflow_definition_version
from dataplane.services.primitives import audit_data_plane, require_customer_scope
from tenancy.context import (
    CUSTOMER,
    ORGANIZATION,
    TenantContextMissing,
    context,
    require_scope,
)
from tenancy.tasks import publish_on_commit
from webhooks.services import execution_event_record


def credential_headers(*, auth_method: str, credentials: dict[str, str]) -> dict[str, str]:
    """The request headers a connection's credentials become (documented in WORKFLOWS.md)."""
    if auth_method == AuthMethod.OAUTH2 and credentials.get("access_token"):
        return {"Authorization": f"Bearer {credentials['access_token']}"}
    if auth_method == AuthMethod.BASIC and "username" in credentials:
        pair = f"{credentials['username']}:{credentials.get('password', '')}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    if auth_method == AuthMethod.API_KEY:
        return {
            "X-" + "-".join(part.capitalize() for part in name.split("_")): value
            for name, value in sorted(credentials.items())
        }
    return {}


def execution_log_record(
    *,
    organization: Organization,
    customer: Customer,
    source: str,
    result: outbound.OutboundResult,
    message: str,
    connection: Connection | None = None,
) -> ExecutionLog:
    """Log one finished outbound call as an execution of ``customer``, with the status
    ``outbound.execution_status`` gives it.

    The row is written in the customer's own scope, in its region's database, whichever scope
    of the same organization the caller is in (a build test panel runs organization-wide).
    """
    scope = require_scope()
    if scope.org_id != organization.id or customer.org_id != organization.id:
        raise TenantContextMissing("Executions are logged in their organization's scope.")
    if scope.customer_id not in (None, customer.id):
        raise TenantContextMissing("This scope belongs to another customer.")
    finished = timezone.now()
    with context(
        org_id=organization.id,
        customer_id=customer.id,
        role=CUSTOMER if scope.role == CUSTOMER else ORGANIZATION,
        user_id=scope.user_id,
        region=customer.region,
    ):
        return ExecutionLog.objects.create(
            org_id=organization.id,
            customer_id=customer.id,
            connection=connection,
            source=source,
            status=outbound.execution_status(result),
            started_at=finished - timedelta(milliseconds=result.duration_ms),
            finished_at=finished,
            duration_ms=result.duration_ms,
            message=message[:2000],
        )


def workflow_version_deployed(workflow: Workflow, environment: str) -> int:
    """The version of ``workflow`` live in ``environment`` (``test`` or ``prod``): what a run
    there executes. Nothing deployed there is a ``not_deployed`` refusal."""
    if environment not in ENVIRONMENTS:
        raise ValueError("environment is test or prod")
    number: int | None = getattr(workflow, f"{environment}_version")
    if number is None:
        raise ValidationError(
            f"No version of {workflow.name} is deployed to {environment}: deploy one to "
            f"{environment} first.",
            code="not_deployed",
        )
    return number


def workflow_run(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    workflow: Workflow,
    environment: str,
    trigger: str = RunTrigger.MANUAL,
) -> ExecutionLog:
    """Queue a run of the version deployed to ``environment`` (SPEC §11 "Environments")."""
    _require_runnable(organization, customer, workflow)
    number = workflow_version_deployed(workflow, environment)
    return execution_queue(
        acting_user,
        customer,
        workflow,
        RunTarget(version=number, environment=environment, trigger=trigger),
    )


REPLAYABLE = (ExecutionStatus.FAILED, ExecutionStatus.TIMEOUT)


def execution_replayable(execution: ExecutionLog) -> bool:
    """Whether Replay applies: a failed (or timed-out) run of a recorded workflow version."""
    return (
        execution.status in REPLAYABLE
        and execution.workflow_id is not None
        and execution.version is not None
    )


def workflow_replay(
    *, acting_user: Any, organization: Organization, customer: Customer, execution: ExecutionLog
) -> ExecutionLog:
    """Run a failed execution's workflow version again, in the same environment, whatever is
    deployed there now; the new execution names the one it replays (``replay_of``)."""
    workflow = execution.workflow
    if not execution_replayable(execution) or workflow is None or execution.version is None:
        raise ValidationError(
            "Only a failed run of a known workflow version can be replayed.",
            code="not_replayable",
        )
    _require_runnable(organization, customer, workflow)
    if workflow_definition_version(workflow, execution.version) is None:
        raise ValidationError(
            f"Version {execution.version} of {workflow.name} no longer exists.",
            code="not_replayable",
        )
    target = RunTarget(
        version=execution.version,
        environment=execution.environment,
        trigger=RunTrigger.MANUAL,
        replay_of=execution,
    )
    return execution_queue(acting_user, customer, workflow, target)


def _require_runnable(organization: Organization, customer: Customer, workflow: Workflow) -> None:
    require_customer_scope(customer)
    customer_require_runnable(organization=organization, customer=customer)
    if not workflow.enabled:
        raise ValidationError("This workflow is disabled: enable it to run it.", code="disabled")


@dataclass(frozen=True)
class RunTarget:
    """What one run executes: a workflow version, in an environment, for a trigger."""

    version: int
    environment: str
    trigger: str
    replay_of: ExecutionLog | None = None
    event: Event | None = None  # the event that triggered it (``dataplane.services.triggers``)
    scheduled_for: datetime | None = None  # the minute a schedule trigger ran it for


def execution_queue(
    acting_user: Any, customer: Customer, workflow: Workflow, target: RunTarget
) -> ExecutionLog:
    """Record a queued execution of ``target`` and hand it to the worker once this transaction
    commits (``dataplane.tasks.run_workflow``)."""
    # dataplane.tasks imports this package to run the steps: services ↔ tasks.
    from dataplane.tasks import run_workflow

    replaying = f", replaying {target.replay_of.id}" if target.replay_of else ""
    if target.event is not None:
        replaying = f", for event {target.event.name}"
    if target.scheduled_for is not None:
        replaying = f", scheduled for {target.scheduled_for:%Y-%m-%d %H:%M} UTC"
    execution = ExecutionLog.objects.create(
        org_id=customer.org_id,
        customer_id=customer.id,
        workflow=workflow,
        source="workflow",
        status=ExecutionStatus.QUEUED,
        version=target.version,
        environment=target.environment,
        trigger=target.trigger,
        replay_of=target.replay_of,
        event=target.event,
        scheduled_for=target.scheduled_for,
        message=f"Queued: version {target.version} in {target.environment}{replaying}.",
    )
    after = {
        "execution": str(execution.id),
        "version": target.version,
        "environment": target.environment,
        "trigger": target.trigger,
    }
    if target.replay_of is not None:
        after["replay_of"] = str(target.replay_of.id)
    if target.event is not None:
        after["event"] = str(target.event.id)
    audit_data_plane(acting_user, actions.WORKFLOW_EXECUTE, workflow, customer, after=after)
    kwargs = {
        "org_id": str(customer.org_id),
        "customer_id": str(customer.id),
        "execution_id": str(execution.id),
        "version": target.version,
    }
    publish_on_commit(run_workflow, kwargs=kwargs)
    return execution


@dataclass
class PlannedStep:
    """One outbound call, ready to make without the database (credentials already headers).
    ``timeout`` ``None`` is ``OUTBOUND_TIMEOUT_SECONDS``; a ``problem`` stops it being made."""

    name: str
    url: str
    method: str
    headers: dict[str, str]
    timeout: float | None = None
    body: Any = None
    problem: str = ""
    # An OAuth 2.0 connection whose token a 401 may refresh once (``dataplane.oauth``).
    refreshable_connection_id: str = ""


def step_call(step: PlannedStep) -> outbound.OutboundResult:
    """Make the planned call (no body with GET)."""
    body = step.body if step.method != "GET" else None
    return outbound.request(
        step.method, step.url, headers=step.headers, json_body=body, timeout=step.timeout
    )


Enter = Callable[[], AbstractContextManager[Any]]


def call_outside_transaction[T](
    *,
    enter: Enter,
    plan: Callable[[], PlannedStep],
    record: Callable[[outbound.OutboundResult], T],
) -> T:
    """One outbound call for a request (a connection test, a test panel): ``plan`` inside
    ``enter()`` (the caller's scope: checks, credentials), the call with no transaction open,
    then ``record`` in a fresh ``enter()`` (status, execution log, audit). The caller holds no
    transaction (console views: ``fastn_console.console.outside_request_transaction``)."""
    with enter():
        step = plan()
    result = step_call(step)
    with enter():
        return record(result)


def execution_start(*, execution_id: uuid.UUID | str, version: int) -> list[PlannedStep] | None:
    """Move a queued execution to running and plan its steps (credentials decrypted now, so the
    HTTP calls run outside any transaction). ``None`` when there is nothing to run: already
    taken (a redelivered task) or refused — then the execution is already finished."""
    scope = require_scope()
    if scope.customer_id is None or scope.org_id is None:
        raise TenantContextMissing("A workflow run needs its customer's scope.")
    customer = Customer.objects.get(id=scope.customer_id)
    organization = Organization.objects.get(id=scope.org_id)
    execution = ExecutionLog.objects.select_for_update().filter(id=execution_id).first()
    if execution is None or execution.status != ExecutionStatus.QUEUED:
        return None
    now = timezone.now()
    execution.status, execution.started_at = ExecutionStatus.RUNNING, now
    refusal = ""
    try:
        customer_require_runnable(organization=organization, customer=customer)
    except ValidationError as exc:
        refusal = " ".join(exc.messages)
    workflow = execution.workflow
    definition = None
    if workflow is not None:
        definition = workflow_definition_version(workflow, version)
    if not refusal and (workflow is None or definition is None):
        refusal = "The workflow or its version no longer exists."
    elif not refusal and workflow is not None and not workflow.enabled:
        refusal = "The workflow was disabled before the run started."
    if refusal:
        execution.status, execution.finished_at = ExecutionStatus.FAILED, now
        execution.duration_ms, execution.message = 0, f"Version {version}: {refusal}"
        execution.save(
            update_fields=["status", "started_at", "finished_at", "duration_ms", "message"]
        )
        return None
    execution.message = f"Running version {version}."
    execution.save(update_fields=["status", "started_at", "message"])
    assert workflow is not None and definition is not None
    return _plan_steps(definition, workflow)


def _step_connection(
    workflow: Workflow,
    slug: str,
    connectors: dict[str, Connector],
    connections: list[Connection],
) -> tuple[Connection | None, Connector | None, str]:
    """The customer's connection a step naming connector ``slug`` uses — the one chosen for
    the workflow, else the customer's only connection of it — or why there is none.
    ``connections`` are the customer's connections of the connectors the steps name."""
    connector = connectors.get(slug)
    if connector is None:
        return None, None, f"no connector has the slug {slug!r} any more"
    own = [c for c in connections if c.connector_id == connector.id]
    chosen = workflow.connections.get(slug)
    if chosen:
        connection = next((c for c in own if str(c.id) == chosen), None)
        if connection is None:
            return None, connector, f"the connection chosen for {slug} no longer exists"
        return connection, connector, ""
    if len(own) != 1:
        many = "several connections" if own else "no connection"
        return None, connector, f"the customer has {many} of {connector.name}: choose one"
    return own[0], connector, ""


def _fill_configuration(
    planned: PlannedStep, step: dict[str, Any], configuration: dict[str, Configuration]
) -> None:
    """Put the customer's configuration values into the step's body
    (``dataplane.placeholders``), or say why the step cannot run."""
    keys = placeholder_keys(planned.body)
    missing = sorted(keys - set(configuration))
    secret = sorted(key for key in keys & set(configuration) if configuration[key].is_secret)
    if missing:
        planned.problem = f"configuration value {missing[0]} is not set for this customer"
    elif secret and "connector" not in step:
        planned.problem = (
            f"secret configuration value {secret[0]} goes only to a connector's hosts: "
            "name the connector in the step"
        )
    elif keys:
        planned.body = fill(planned.body, {key: configuration[key].value for key in keys})


def _plan_steps(definition: dict[str, Any], workflow: Workflow) -> list[PlannedStep]:
    slugs = {str(step["connector"]) for step in definition.get("steps", []) if "connector" in step}
    connectors = {c.slug: c for c in Connector.objects.filter(slug__in=slugs)}
    connections = list(
        Connection.objects.filter(connector_id__in=[c.id for c in connectors.values()])
    )
    keys = set().union(
        *(placeholder_keys(step.get("body")) for step in definition.get("steps", []))
    )
    configuration = {c.key: c for c in Configuration.objects.filter(key__in=keys)} if keys else {}
    steps = []
    for step in definition.get("steps", []):
        planned = PlannedStep(
            name=str(step.get("name")),
            url=str(step.get("url")),
            method=str(step.get("method", "GET")).upper(),
            headers={},
            timeout=step.get("timeout_seconds"),
            body=step.get("body"),
        )
        _fill_configuration(planned, step, configuration)
        if "connector" in step and not planned.problem:
            connection, connector, missing = _step_connection(
                workflow, str(step["connector"]), connectors, connections
            )
            if connection is None or connector is None:
                planned.problem = missing
            elif refusal := connector.credentials_refusal(planned.url):
                planned.problem = refusal.rstrip(".")
            elif not connection.credentials and connector.auth_method != AuthMethod.NONE:
                planned.problem = f"connection {connection.name} is disconnected"
            else:
                try:
                    credentials = decrypt_credentials(connection.credentials)
                except CredentialsUnreadable:
                    planned.problem = f"the credentials of {connection.name} cannot be decrypted"
                else:
                    planned.headers = credential_headers(
                        auth_method=connector.auth_method, credentials=credentials
                    )
                    if connector.uses_authorization_code:
                        planned.refreshable_connection_id = str(connection.id)
        steps.append(planned)
    return steps


@dataclass
class RunOutcome:
    status: str
    message: str
    duration_ms: int


Reauthorize = Callable[[PlannedStep], dict[str, str] | None]


def workflow_steps_execute(
    *, steps: list[PlannedStep], version: int, reauthorize: Reauthorize | None = None
) -> RunOutcome:
    """Call each step in order; stop at the first that fails. No database access, except
    through ``reauthorize``: a step of an OAuth 2.0 connection answered 401 gets new headers
    from it (one token refresh, ``dataplane.oauth``) and is made once more."""
    started = time.monotonic()
    done: list[str] = []

    def outcome(status: str, message: str) -> RunOutcome:
        elapsed = int((time.monotonic() - started) * 1000)
        return RunOutcome(status, f"Version {version}: {message}"[:2000], elapsed)

    for index, step in enumerate(steps, start=1):
        label = f"step {index} {step.name!r}"
        if step.problem:
            return outcome(ExecutionStatus.FAILED, f"{label} not run: {step.problem}.")
        result = step_call(step)
        if result.status_code == 401 and step.refreshable_connection_id and reauthorize:
            headers = reauthorize(step)
            if headers is not None:
                step.headers = headers
                result = step_call(step)
        status = outbound.execution_status(result)
        if status == ExecutionStatus.TIMEOUT:
            return outcome(status, f"{label} timed out: {result.error}")
        if status != ExecutionStatus.COMPLETED:
            return outcome(status, f"{label} failed: {result.error}")
        done.append(f"{step.name} {result.status_code} ({result.duration_ms} ms)")
    summary = "; ".join(done) if done else "no steps"
    return outcome(ExecutionStatus.COMPLETED, f"{len(done)} step(s) completed — {summary}.")


def execution_finish(*, execution_id: uuid.UUID | str, outcome: RunOutcome) -> None:
    execution = ExecutionLog.objects.select_for_update().get(id=execution_id)
    execution.status = outcome.status
    execution.finished_at = timezone.now()
    execution.duration_ms = outcome.duration_ms
    execution.message = outcome.message
    execution.save(update_fields=["status", "finished_at", "duration_ms", "message"])
    execution_event_record(execution=execution)
