"""Reads for customers. Organization-wide reads of the data plane go region by region."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from customers.models import Customer, CustomerImport, CustomerImportStatus, CustomerLimitOverride
from dataplane.models import Configuration, Connection, ExecutionLog, Workflow
from dataplane.selectors import counts_per_customer, workflows_with_definitions

SECRET_MASK = "********"


def customer_by_external_id(external_id: str) -> Customer | None:
    """The live customer with this external ID in the scope's organization."""
    return Customer.objects.live().filter(external_id=external_id).first()


def customer_list(
    *,
    search: str = "",
    status: str = "",
    region: str = "",
    labels: dict[str, str] | None = None,
) -> QuerySet[Customer]:
    """Live customers, filtered; ``labels`` must all match (parse them with
    ``customers.labels.labels_parse``)."""
    customers = Customer.objects.live()
    if labels:
        customers = customers.filter(labels__contains=labels)
    search = search.strip()
    if search:
        condition = Q(name__icontains=search) | Q(external_id__icontains=search)
        try:
            condition |= Q(id=uuid.UUID(search))
        except ValueError:
            condition |= Q(slug__icontains=search)
        customers = customers.filter(condition)
    if status:
        customers = customers.filter(status=status)
    if region:
        customers = customers.filter(region=region)
    return customers.order_by("name", "id")


def connection_counts(customers: Iterable[Customer]) -> dict[uuid.UUID, int]:
    """Connections per customer, one query per region database involved."""
    return counts_per_customer(Connection, customers)


def workflow_counts(customers: Iterable[Customer]) -> dict[uuid.UUID, int]:
    """Workflows per customer, one query per region database involved."""
    return counts_per_customer(Workflow, customers)


def configuration_list() -> list[dict[str, Any]]:
    """The customer in scope's configuration with secret values masked."""
    return [
        {
            "id": item.id,
            "key": item.key,
            "value": SECRET_MASK if item.is_secret else item.value,
            "is_secret": item.is_secret,
            "end_user_editable": item.end_user_editable,
            "updated_at": item.updated_at,
        }
        for item in Configuration.objects.order_by("key")
    ]


def customer_export(*, customer: Customer) -> dict[str, Any]:
    """Everything the customer in scope owns, as JSON-ready data.

    Connection credentials are never exported, and secret configuration values are masked.
    """

    def stamp(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "format": "fastn-customer-export/2",
        "exported_at": timezone.now().isoformat(),
        "customer": {
            "id": str(customer.id),
            "name": customer.name,
            "slug": customer.slug,
            "external_id": customer.external_id,
            "status": customer.status,
            "region": customer.region,
            "created_at": stamp(customer.created_at),
        },
        "limit_overrides": {
            row.limit_key: row.value
            for row in CustomerLimitOverride.objects.filter(customer_id=customer.id)
        },
        "connections": [
            {
                "id": str(c.id),
                "connector_id": str(c.connector_id),
                "name": c.name,
                "status": c.status,
                "created_at": stamp(c.created_at),
            }
            for c in Connection.objects.order_by("created_at", "id")
        ],
        "workflows": [
            {
                "id": str(w.id),
                "definition_id": str(w.definition_id),
                "name": w.name,
                "enabled": w.enabled,
                "connections": w.connections,
                "created_at": stamp(w.created_at),
            }
            for w in workflows_with_definitions(Workflow.objects.order_by("created_at", "id"))
        ],
        "executions": [
            {
                "id": str(e.id),
                "workflow_id": str(e.workflow_id) if e.workflow_id else None,
                "connection_id": str(e.connection_id) if e.connection_id else None,
                "source": e.source,
                "status": e.status,
                "started_at": stamp(e.started_at),
                "finished_at": stamp(e.finished_at),
                "duration_ms": e.duration_ms,
                "message": e.message,
                "created_at": stamp(e.created_at),
            }
            for e in ExecutionLog.objects.order_by("created_at", "id")
        ],
        "configuration": [
            {**item, "id": str(item["id"]), "updated_at": stamp(item["updated_at"])}
            for item in configuration_list()
        ],
    }


def customer_import_list() -> QuerySet[CustomerImport]:
    """The organization's imports, newest first, without their rows."""
    return CustomerImport.objects.defer("rows").order_by("-created_at")


def customer_import_progress(job: CustomerImport) -> dict[str, Any]:
    """How far an import has come: what the page shows and polls."""
    total = job.total_rows or 1
    return {
        "status": job.status,
        "status_display": job.get_status_display(),
        "processed": job.processed,
        "total": job.total_rows,
        "percent": round(100 * job.processed / total),
        "finished": job.status in (CustomerImportStatus.DONE, CustomerImportStatus.FAILED),
        "counts": job.counts,
        "error": job.error,
    }
