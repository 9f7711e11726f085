"""The building blocks of the data-plane services.

The ``…_unchecked`` writes skip every check (states, limits, permissions, audit): they exist for
demo seeding (``customers.demo``) and test factories, and write in the customer scope the
caller entered. ``require_customer_scope`` (or ``require_writable_customer_scope``) and
``audit_data_plane`` are the first and last step of every checked service.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone

from audit.services import audit_record
from customers.models import Customer, Organization
from customers.states import customer_require_writable
from dataplane.models import (
    Configuration,
    Connection,
    ExecutionLog,
    ExecutionStatus,
    Workflow,
)
from tenancy.context import TenantContextMissing, require_scope


def _customer_scope() -> tuple[uuid.UUID, uuid.UUID]:
    scope = require_scope()
    if scope.customer_id is None or scope.org_id is None:
        raise TenantContextMissing("Data-plane writes need a customer scope.")
    return scope.org_id, scope.customer_id


def connection_create_unchecked(
    *, connector_id: Any, name: str, status: str = "active"
) -> Connection:
    org_id, customer_id = _customer_scope()
    return Connection.objects.create(
        org_id=org_id, customer_id=customer_id, connector_id=connector_id, name=name, status=status
    )


def workflow_create_unchecked(
    *, definition_id: Any, connections: dict[str, str] | None = None
) -> Workflow:
    """Add a workflow definition to the customer in scope."""
    org_id, customer_id = _customer_scope()
    return Workflow.objects.create(
        org_id=org_id,
        customer_id=customer_id,
        definition_id=definition_id,
        connections=connections or {},
    )


def execution_log_create_unchecked(
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
    finished = status not in (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
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
        finished_at=now if finished else None,
    )


def configuration_set_unchecked(
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


def require_customer_scope(customer: Customer) -> None:
    """Refuse to write ``customer``'s data from any scope but its own."""
    scope = require_scope()
    if scope.customer_id != customer.id or scope.org_id != customer.org_id:
        raise TenantContextMissing("Enter the customer's scope before writing its data.")


def require_writable_customer_scope(*, organization: Organization, customer: Customer) -> None:
    """The customer's own scope, and a state that accepts writes (SPEC §3)."""
    require_customer_scope(customer)
    customer_require_writable(organization=organization, customer=customer)


def audit_data_plane(
    acting_user: Any,
    action: str,
    target: Any,
    customer: Customer,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Audit a change to one of ``customer``'s rows (ids and field names, never values)."""
    audit_record(
        actor=acting_user,
        action=action,
        target_type=type(target)._meta.model_name or "",
        target_id=target.id,
        subject_customer_id=customer.id,
        before=before,
        after=after,
    )
