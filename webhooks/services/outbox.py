"""The outbox: a change writes its event in its own transaction (SPEC §12).

``webhook_event_record`` is the one call services make. The row commits or rolls back with the
change, so no event is lost or invented; a task queued after the commit fans it out to the
subscribed endpoints, and the beat sweep fans out any whose task never reached the broker.
"""

from __future__ import annotations

import uuid
from typing import Any

from tenancy.context import TenantContextMissing, require_scope
from tenancy.tasks import publish_on_commit
from webhooks import events, queued
from webhooks.models import EndpointStatus, WebhookEndpoint, WebhookEvent


def _subscribed(event_type: str) -> bool:
    return WebhookEndpoint.objects.filter(
        status=EndpointStatus.ACTIVE, event_types__contains=[event_type]
    ).exists()


def webhook_event_record(
    *, event_type: str, data: dict[str, Any], customer_id: uuid.UUID | None = None
) -> WebhookEvent | None:
    """Write the event of a change in the current scope's transaction; ``None`` when no active
    endpoint of the organization subscribes to ``event_type`` (nothing to deliver).

    A customer-restricted scope cannot see the endpoints (they are organization-level rows), so
    there the event is always written and the fan-out decides.
    """
    events.declared(event_type)
    scope = require_scope()
    if scope.org_id is None:
        raise TenantContextMissing("Webhook events belong to an organization; enter its scope.")
    if not scope.is_customer_restricted and not _subscribed(event_type):
        return None
    event = WebhookEvent.objects.create(
        org_id=scope.org_id, subject_customer_id=customer_id, event_type=event_type, data=data
    )
    publish_on_commit(
        queued.dispatch_event, kwargs={"org_id": str(scope.org_id), "event_id": str(event.id)}
    )
    return event


def customer_event_data(customer: Any) -> dict[str, Any]:
    """What customer events carry: the customer as the API shows it (no secrets, no data)."""
    return {
        "customer": {
            "id": str(customer.id),
            "name": customer.name,
            "external_id": customer.external_id,
            "region": customer.region,
            "status": customer.status,
        }
    }


def customer_event_record(*, event_type: str, customer: Any) -> WebhookEvent | None:
    """``webhook_event_record`` for an event about ``customer`` itself."""
    return webhook_event_record(
        event_type=event_type, data=customer_event_data(customer), customer_id=customer.id
    )


def connection_event_record(
    *, event_type: str, connection: Any, customer: Any
) -> WebhookEvent | None:
    """``webhook_event_record`` for a customer's connection (never its credentials)."""
    return webhook_event_record(
        event_type=event_type,
        customer_id=customer.id,
        data={
            **customer_event_data(customer),
            "connection": {
                "id": str(connection.id),
                "name": connection.name,
                "connector_id": str(connection.connector_id),
                "status": connection.status,
            },
        },
    )


def execution_event_record(*, execution: Any) -> WebhookEvent | None:
    """``execution.failed`` for a workflow execution that ended failed or timed out (ids,
    status and message only); nothing for one that completed."""
    if execution.status not in ("failed", "timeout"):
        return None
    return webhook_event_record(
        event_type=events.EXECUTION_FAILED,
        customer_id=execution.customer_id,
        data={
            "customer": {"id": str(execution.customer_id)},
            "execution": {
                "id": str(execution.id),
                "workflow_id": str(execution.workflow_id) if execution.workflow_id else None,
                "status": execution.status,
                "message": execution.message[:500],
                "finished_at": execution.finished_at.isoformat().replace("+00:00", "Z")
                if execution.finished_at
                else None,
            },
        },
    )
