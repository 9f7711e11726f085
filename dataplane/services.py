"""Writes to a customer's data plane. The router sends them to the customer's region.

The first functions (``connection_create``, ``workflow_create``, ``execution_log_create``,
``configuration_set``) are unchecked primitives for demo data and test factories. Everything a
person or a token holder does goes through the checked services further down, which take
``acting_user``, refuse what the customer's and organization's states refuse, check count limits
under a lock on the customer row, encrypt credentials and audit ids and field names (never
values).
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.services import audit_record
from build.models import AuthMethod, Connector
from customers.models import Customer, Organization
from customers.states import (
    customer_require_runnable,
    customer_require_writable,
    organization_require_deployable,
)
from dataplane import outbound
from dataplane.definitions import validate_workflow_definition
from dataplane.encryption import (
    CredentialsUnreadable,
    decrypt_credentials,
    encrypt_credentials,
    reencrypt,
)
from dataplane.models import (
    Configuration,
    Connection,
    ConnectionStatus,
    ExecutionLog,
    ExecutionStatus,
    Workflow,
    WorkflowVersion,
)
from tenancy.context import TenantContextMissing, on_commit, require_scope
from tenancy.context import context as tenant_context


def _customer_scope() -> tuple[Any, Any]:
    scope = require_scope()
    if scope.customer_id is None or scope.org_id is None:
        raise TenantContextMissing("Data-plane writes need a customer scope.")
    return scope.org_id, scope.customer_id


def connection_create(*, connector_id: Any, name: str, status: str = "active") -> Connection:
    org_id, customer_id = _customer_scope()
    return Connection.objects.create(
        org_id=org_id, customer_id=customer_id, connector_id=connector_id, name=name, status=status
    )


def workflow_create(
    *, name: str, definition: dict[str, Any] | None = None, description: str = ""
) -> Workflow:
    org_id, customer_id = _customer_scope()
    workflow = Workflow.objects.create(
        org_id=org_id,
        customer_id=customer_id,
        name=name,
        description=description,
        definition=definition or {"steps": []},
    )
    WorkflowVersion.objects.create(
        org_id=org_id,
        customer_id=customer_id,
        workflow=workflow,
        number=1,
        definition=workflow.definition,
    )
    return workflow


def execution_log_create(
    *,
    workflow: Workflow | None = None,
    connection: Connection | None = None,
    status: str = ExecutionStatus.COMPLETED,
    message: str = "",
    duration_ms: int | None = None,
    source: str = "workflow",
) -> ExecutionLog:
    org_id, customer_id = _customer_scope()
    now = timezone.now()
    return ExecutionLog.objects.create(
        org_id=org_id,
        customer_id=customer_id,
        workflow=workflow,
        connection=connection,
        source=source,
        status=status,
        message=message,
        duration_ms=duration_ms,
        started_at=now,
        finished_at=now
        if status not in (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
        else None,
    )


def configuration_set(
    *, key: str, value: str, is_secret: bool = False, end_user_editable: bool = False
) -> Configuration:
    org_id, customer_id = _customer_scope()
    configuration, _ = Configuration.objects.update_or_create(
        customer_id=customer_id,
        key=key,
        defaults={
            "org_id": org_id,
            "value": value,
            "is_secret": is_secret,
            "end_user_editable": end_user_editable,
        },
    )
    return configuration


# --- Checked services ------------------------------------------------------------------------


def _require_customer_scope(customer: Customer) -> None:
    scope = require_scope()
    if scope.customer_id != customer.id or scope.org_id != customer.org_id:
        raise TenantContextMissing("Enter the customer's scope before writing its data.")


def _audit(
    acting_user: Any,
    action: str,
    target: Any,
    customer: Customer,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    audit_record(
        actor=acting_user,
        action=action,
        target_type=type(target)._meta.model_name or "",
        target_id=target.id,
        subject_customer_id=customer.id,
        before=before,
        after=after,
    )


# Connections


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


def _clean_credentials(
    fields: list[str], values: dict[str, str], *, partial: bool
) -> dict[str, str]:
    cleaned = {name: str(values.get(name) or "").strip() for name in fields}
    errors = {}
    for name, value in cleaned.items():
        if not value and not partial:
            errors[name] = "This credential is required."
        elif any(ch in value for ch in "\r\n\x00"):
            errors[name] = "Line breaks are not allowed in credentials."
        elif len(value) > 4096:
            errors[name] = "At most 4,096 characters."
    if errors:
        raise ValidationError(errors)
    return {name: value for name, value in cleaned.items() if value}


def connection_connect(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    connector: Connector,
    credentials: dict[str, str],
    name: str = "",
    credential_fields: list[str] | None = None,
) -> Connection:
    """Connect ``customer`` to ``connector`` with its credential fields (encrypted at rest)."""
    from billing.services import count_limit_guard

    _require_customer_scope(customer)
    customer_require_writable(organization=organization, customer=customer)
    fields = list(
        credential_fields if credential_fields is not None else connector.credential_fields
    )
    values = _clean_credentials(fields, credentials, partial=False)
    count_limit_guard(organization=organization, key="connections_per_customer", customer=customer)
    connection = Connection.objects.create(
        org_id=organization.id,
        customer_id=customer.id,
        connector_id=connector.id,
        name=(name or connector.name).strip()[:120],
        status=ConnectionStatus.ACTIVE,
        credentials=encrypt_credentials(values),
    )
    _audit(
        acting_user,
        "connection.create",
        connection,
        customer,
        after={"connector": str(connector.id), "credential_fields": sorted(values)},
    )
    return connection


def connection_update(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    connection: Connection,
    connector: Connector,
    name: str,
    credentials: dict[str, str],
) -> Connection:
    """Rename and replace credentials; a blank field keeps the stored value (a disconnected
    connection needs every field again)."""
    _require_customer_scope(customer)
    customer_require_writable(organization=organization, customer=customer)
    stored = decrypt_credentials(connection.credentials)
    fields = list(connector.credential_fields)
    new = _clean_credentials(fields, credentials, partial=True)
    merged = {name: new.get(name) or stored.get(name, "") for name in fields}
    missing = {n: "This credential is required." for n, v in merged.items() if not v}
    if missing:
        raise ValidationError(missing)
    changed = sorted(name for name in fields if merged[name] != stored.get(name))
    connection.name = (name or connection.name).strip()[:120]
    connection.credentials = encrypt_credentials(merged)
    if changed:
        connection.status = ConnectionStatus.ACTIVE
    connection.save(update_fields=["name", "credentials", "status"])
    _audit(
        acting_user,
        "connection.update",
        connection,
        customer,
        after={"credential_fields_changed": changed},
    )
    return connection


def connection_disconnect(
    *, acting_user: Any, organization: Organization, customer: Customer, connection: Connection
) -> None:
    """Delete the stored credentials; the connection stays, inactive, until reconnected."""
    _require_customer_scope(customer)
    customer_require_writable(organization=organization, customer=customer)
    connection.credentials = ""
    connection.status = ConnectionStatus.INACTIVE
    connection.save(update_fields=["credentials", "status"])
    _audit(acting_user, "connection.disconnect", connection, customer)


def connection_remove(
    *, acting_user: Any, organization: Organization, customer: Customer, connection: Connection
) -> None:
    """Delete the connection with its credentials; its past executions keep no link to it."""
    _require_customer_scope(customer)
    customer_require_writable(organization=organization, customer=customer)
    _audit(
        acting_user,
        "connection.delete",
        connection,
        customer,
        before={"connector": str(connection.connector_id)},
    )
    connection.delete()


@dataclass
class ConnectionTest:
    status: str
    result: outbound.OutboundResult | None
    message: str


def connection_test(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    connection: Connection,
    connector: Connector,
) -> ConnectionTest:
    """Call the connector's base URL with the credentials and set the connection's status:
    2xx → active, 401/403 → expired, anything else → failed. Logged as an execution."""
    _require_customer_scope(customer)
    customer_require_runnable(organization=organization, customer=customer)
    if not connection.credentials and connector.auth_method != AuthMethod.NONE:
        raise ValidationError("This connection is disconnected: reconnect it first.")
    if not connector.base_url:
        raise ValidationError(f"{connector.name} declares no base URL to test against.")
    headers = credential_headers(
        auth_method=connector.auth_method,
        credentials=decrypt_credentials(connection.credentials),
    )
    result = outbound.request("GET", connector.base_url, headers=headers)
    if result.ok:
        status, message = ConnectionStatus.ACTIVE, f"HTTP {result.status_code}: credentials work."
    elif result.status_code in (401, 403):
        status, message = (
            ConnectionStatus.EXPIRED,
            (f"HTTP {result.status_code}: {connector.name} rejected the credentials."),
        )
    else:
        status, message = ConnectionStatus.FAILED, result.error or "The test failed."
    connection.status = status
    connection.save(update_fields=["status"])
    finished = timezone.now()
    ExecutionLog.objects.create(
        org_id=organization.id,
        customer_id=customer.id,
        connection=connection,
        source="connection_test",
        status=ExecutionStatus.COMPLETED
        if result.ok
        else (
            ExecutionStatus.TIMEOUT
            if result.outcome == outbound.TIMEOUT
            else ExecutionStatus.FAILED
        ),
        started_at=finished - timedelta(milliseconds=result.duration_ms),
        finished_at=finished,
        duration_ms=result.duration_ms,
        message=f"Connection test of {connection.name}: {message}"[:2000],
    )
    _audit(acting_user, "connection.test", connection, customer, after={"status": status})
    return ConnectionTest(status, result, message)


# Workflows


def _clean_workflow(
    name: str, definition: Any, *, exclude_id: uuid.UUID | None = None
) -> tuple[str, dict[str, Any]]:
    name = (name or "").strip()
    errors: dict[str, Any] = {}
    if not name:
        errors["name"] = "Enter a name."
    elif Workflow.objects.filter(name=name).exclude(id=exclude_id or uuid.uuid4()).exists():
        errors["name"] = "Another workflow of this customer has this name."
    try:
        connection_ids = Connection.objects.values_list("id", flat=True)
        definition = validate_workflow_definition(definition, connection_ids=connection_ids)
    except ValidationError as exc:
        errors["definition"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return name, definition


def workflow_add(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    name: str,
    definition: Any,
    description: str = "",
) -> Workflow:
    from billing.services import count_limit_guard

    _require_customer_scope(customer)
    customer_require_writable(organization=organization, customer=customer)
    name, definition = _clean_workflow(name, definition)
    count_limit_guard(organization=organization, key="workflows_per_customer", customer=customer)
    workflow = Workflow.objects.create(
        org_id=organization.id,
        customer_id=customer.id,
        name=name,
        description=description.strip(),
        definition=definition,
        current_version=1,
    )
    WorkflowVersion.objects.create(
        org_id=organization.id,
        customer_id=customer.id,
        workflow=workflow,
        number=1,
        definition=definition,
    )
    _audit(
        acting_user,
        "workflow.create",
        workflow,
        customer,
        after={"version": 1, "steps": len(definition["steps"])},
    )
    return workflow


def workflow_update(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    workflow: Workflow,
    name: str,
    definition: Any,
    description: str = "",
) -> bool:
    """Save as a new version; False (nothing written) when nothing changed."""
    _require_customer_scope(customer)
    customer_require_writable(organization=organization, customer=customer)
    name, definition = _clean_workflow(name, definition, exclude_id=workflow.id)
    description = description.strip()
    if (name, description, definition) == (
        workflow.name,
        workflow.description,
        workflow.definition,
    ):
        return False
    locked = Workflow.objects.select_for_update().get(id=workflow.id)
    changed = [
        field
        for field, value in (
            ("name", name),
            ("description", description),
            ("definition", definition),
        )
        if getattr(locked, field) != value
    ]
    locked.name, locked.description, locked.definition = name, description, definition
    locked.current_version += 1
    locked.save(update_fields=["name", "description", "definition", "current_version"])
    WorkflowVersion.objects.create(
        org_id=organization.id,
        customer_id=customer.id,
        workflow=locked,
        number=locked.current_version,
        definition=definition,
    )
    _audit(
        acting_user,
        "workflow.update",
        workflow,
        customer,
        before={"version": locked.current_version - 1},
        after={"version": locked.current_version, "fields": changed},
    )
    workflow.refresh_from_db()
    return True


def workflow_set_enabled(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    workflow: Workflow,
    enabled: bool,
) -> None:
    _require_customer_scope(customer)
    customer_require_writable(organization=organization, customer=customer)
    if workflow.enabled == enabled:
        return
    workflow.enabled = enabled
    workflow.save(update_fields=["enabled"])
    _audit(acting_user, "workflow.enable" if enabled else "workflow.disable", workflow, customer)


def workflow_deploy(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    workflow: Workflow,
    environment: str,
    number: int,
) -> None:
    """Make version ``number`` live in ``environment``; a lower prod number is a rollback."""
    if environment not in ("test", "prod"):
        raise ValueError("environment is test or prod")
    _require_customer_scope(customer)
    customer_require_writable(organization=organization, customer=customer)
    organization_require_deployable(organization=organization, environment=environment)
    if not WorkflowVersion.objects.filter(workflow=workflow, number=number).exists():
        raise ValidationError(f"Workflow {workflow.name} has no version {number}.")
    field = f"{environment}_version"
    locked = Workflow.objects.select_for_update().get(id=workflow.id)
    previous = getattr(locked, field)
    if previous == number:
        return
    setattr(locked, field, number)
    locked.save(update_fields=[field])
    rollback = environment == "prod" and previous is not None and number < previous
    _audit(
        acting_user,
        "workflow.rollback_prod" if rollback else f"workflow.deploy_{environment}",
        workflow,
        customer,
        before={field: previous},
        after={field: number},
    )
    workflow.refresh_from_db()


def workflow_delete(
    *, acting_user: Any, organization: Organization, customer: Customer, workflow: Workflow
) -> None:
    _require_customer_scope(customer)
    customer_require_writable(organization=organization, customer=customer)
    _audit(
        acting_user,
        "workflow.delete",
        workflow,
        customer,
        before={"version": workflow.current_version},
    )
    workflow.delete()


def workflow_run(
    *, acting_user: Any, organization: Organization, customer: Customer, workflow: Workflow
) -> ExecutionLog:
    """Record a queued execution of the workflow's latest version and hand it to the worker
    once this transaction commits (``dataplane.tasks.run_workflow``)."""
    from dataplane.tasks import run_workflow

    _require_customer_scope(customer)
    customer_require_runnable(organization=organization, customer=customer)
    if not workflow.enabled:
        raise ValidationError("This workflow is disabled: enable it to run it.", code="disabled")
    execution = ExecutionLog.objects.create(
        org_id=organization.id,
        customer_id=customer.id,
        workflow=workflow,
        source="workflow",
        status=ExecutionStatus.QUEUED,
        message=f"Queued: version {workflow.current_version}.",
    )
    _audit(
        acting_user,
        "workflow.execute",
        workflow,
        customer,
        after={"execution": str(execution.id), "version": workflow.current_version},
    )
    kwargs = {
        "org_id": str(organization.id),
        "customer_id": str(customer.id),
        "execution_id": str(execution.id),
        "version": workflow.current_version,
    }
    on_commit(lambda: run_workflow.apply_async(kwargs=kwargs))
    return execution


@dataclass
class PlannedStep:
    name: str
    url: str
    method: str
    headers: dict[str, str]
    timeout: float
    body: Any = None
    problem: str = ""


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
    version_row = None
    if workflow is not None:
        version_row = WorkflowVersion.objects.filter(workflow=workflow, number=version).first()
    if not refusal and (workflow is None or version_row is None):
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
    assert version_row is not None
    return _plan_steps(version_row.definition)


def _plan_steps(definition: dict[str, Any]) -> list[PlannedStep]:
    connections = {str(c.id): c for c in Connection.objects.all()}
    connectors = {
        c.id: c
        for c in Connector.objects.filter(id__in={c.connector_id for c in connections.values()})
    }
    steps = []
    for step in definition.get("steps", []):
        planned = PlannedStep(
            name=str(step.get("name")),
            url=str(step.get("url")),
            method=str(step.get("method", "GET")).upper(),
            headers={},
            timeout=float(step.get("timeout_seconds") or settings.OUTBOUND_TIMEOUT_SECONDS),
            body=step.get("body"),
        )
        connection_id = step.get("connection")
        if connection_id is not None:
            connection = connections.get(str(connection_id))
            connector = connectors.get(connection.connector_id) if connection else None
            if connection is None or connector is None:
                planned.problem = "its connection no longer exists"
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
        steps.append(planned)
    return steps


@dataclass
class RunOutcome:
    status: str
    message: str
    duration_ms: int


def workflow_steps_execute(*, steps: list[PlannedStep], version: int) -> RunOutcome:
    """Call each step in order; stop at the first that fails. No database access."""
    started = time.monotonic()
    done: list[str] = []

    def outcome(status: str, message: str) -> RunOutcome:
        elapsed = int((time.monotonic() - started) * 1000)
        return RunOutcome(status, f"Version {version}: {message}"[:2000], elapsed)

    for index, step in enumerate(steps, start=1):
        label = f"step {index} {step.name!r}"
        if step.problem:
            return outcome(ExecutionStatus.FAILED, f"{label} not run: {step.problem}.")
        body = step.body if step.method != "GET" else None
        result = outbound.request(
            step.method, step.url, headers=step.headers, json_body=body, timeout=step.timeout
        )
        if result.outcome == outbound.TIMEOUT:
            return outcome(ExecutionStatus.TIMEOUT, f"{label} timed out: {result.error}")
        if not result.ok:
            return outcome(ExecutionStatus.FAILED, f"{label} failed: {result.error}")
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


# Configuration


def configuration_add(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    key: str,
    value: str,
    is_secret: bool = False,
    end_user_editable: bool = False,
) -> Configuration:
    _require_customer_scope(customer)
    customer_require_writable(organization=organization, customer=customer)
    key = key.strip()
    if Configuration.objects.filter(key=key).exists():
        raise ValidationError({"key": "This customer already has this key."})
    configuration = Configuration.objects.create(
        org_id=organization.id,
        customer_id=customer.id,
        key=key,
        value=value,
        is_secret=is_secret,
        end_user_editable=end_user_editable,
    )
    _audit(
        acting_user,
        "configuration.create",
        configuration,
        customer,
        after={"key": key, "is_secret": is_secret, "end_user_editable": end_user_editable},
    )
    return configuration


def configuration_update(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    configuration: Configuration,
    value: str | None,
    restricted: bool,
    is_secret: bool | None = None,
    end_user_editable: bool | None = None,
) -> None:
    """Change a value (``None`` keeps it, e.g. a secret left blank). A customer-restricted
    principal (End User, embed token) may change only end-user-editable values, never flags."""
    _require_customer_scope(customer)
    customer_require_writable(organization=organization, customer=customer)
    if restricted and not configuration.end_user_editable:
        raise PermissionDenied("Only end-user-editable configuration can be changed here.")
    changed = []
    if value is not None and value != configuration.value:
        configuration.value = value
        changed.append("value")
    if not restricted:
        for field, new in (("is_secret", is_secret), ("end_user_editable", end_user_editable)):
            if new is not None and getattr(configuration, field) != new:
                setattr(configuration, field, new)
                changed.append(field)
    if not changed:
        return
    configuration.save()
    _audit(
        acting_user,
        "configuration.update",
        configuration,
        customer,
        after={"key": configuration.key, "fields": changed},
    )


def configuration_delete(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    configuration: Configuration,
) -> None:
    _require_customer_scope(customer)
    customer_require_writable(organization=organization, customer=customer)
    _audit(
        acting_user,
        "configuration.delete",
        configuration,
        customer,
        before={"key": configuration.key},
    )
    configuration.delete()


# Key rotation


@dataclass
class ReencryptCounts:
    organizations: int = 0
    customers: int = 0
    connections: int = 0


def connections_reencrypt() -> ReencryptCounts:
    """Re-encrypt every connection's credentials with the first key, one customer per
    transaction, each inside its own context; audited per organization (counts only)."""
    counts = ReencryptCounts()
    with tenant_context():
        organizations = list(Organization.objects.values_list("id", flat=True))
    for org_id in organizations:
        with tenant_context(org_id=org_id):
            customers = list(Customer.objects.values_list("id", flat=True))
        done = 0
        for customer_id in customers:
            with tenant_context(org_id=org_id, customer_id=customer_id):
                for connection in Connection.objects.select_for_update().exclude(credentials=""):
                    connection.credentials = reencrypt(connection.credentials)
                    connection.save(update_fields=["credentials"])
                    done += 1
            counts.customers += 1
        if done:
            with tenant_context(org_id=org_id):
                audit_record(
                    actor=None,
                    action="connections.reencrypt",
                    target_type="organization",
                    target_id=org_id,
                    after={"connections": done},
                )
        counts.organizations += 1
        counts.connections += done
    return counts
