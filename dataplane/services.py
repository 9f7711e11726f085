"""Writes to a customer's data plane. The router sends them to the customer's region."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from dataplane.models import (
    Configuration,
    Connection,
    ExecutionLog,
    ExecutionStatus,
    Workflow,
    WorkflowVersion,
)
from tenancy.context import TenantContextMissing, require_scope


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


def workflow_create(*, name: str, definition: dict[str, Any] | None = None,
                    description: str = "") -> Workflow:
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
        finished_at=now if status not in (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
        else None,
    )


def configuration_set(*, key: str, value: str, is_secret: bool = False,
                      end_user_editable: bool = False) -> Configuration:
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
