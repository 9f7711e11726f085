"""Import customers from CSV (SPEC §13): a checked preview, then an idempotent upsert by
external ID, row by row, on Celery.

``customer_import_create`` reads the file (``customers.imports``), compares it with the
organization's customers and stores the preview; nothing else is written. ``customer_import_start``
queues the run (a small file runs at once, in the request). ``customer_import_run`` is the job,
in the shape of the signup pipeline's steps: each chunk of ``CHUNK_ROWS`` rows enters its own
scope, locks the import row, returns at once when the import is finished, applies the chunk and
records each row's outcome and the new ``processed`` count in the same transaction. A worker
killed mid-chunk leaves the chunk unapplied and unrecorded, so the retried task applies it
again; and since every row is an upsert by external ID, applying a row twice changes nothing.

Each row runs through ``customer_upsert_by_external_id``, in a savepoint of its own — the plan's
customer limit is checked there for each created customer, under the organization's lock — so
a refused row leaves nothing behind and the rows after it still run.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from audit import actions
from audit.services import audit_record
from billing.selectors import effective_limit
from customers.imports import import_rows_parse
from customers.models import (
    Customer,
    CustomerImport,
    CustomerImportStatus,
    CustomerStatus,
    Organization,
)
from customers.services.customers import customer_upsert_by_external_id
from customers.services.organizations import require_organization_in_scope
from fastn_console.celery import app as celery_app
from tenancy.context import ORGANIZATION, context
from tenancy.tasks import publish_on_commit

CUSTOMER_IMPORT_TASK = "customers.customer_import"  # customers.tasks.customer_import_task
CHUNK_ROWS = 250
# Files up to this size are imported in the request itself; larger ones on Celery.
INLINE_ROWS = 100
FINISHED = (CustomerImportStatus.DONE, CustomerImportStatus.FAILED)
PLAN_CREATE, PLAN_UPDATE = "create", "update"
OUTCOME_FAILED, OUTCOME_SKIPPED = "failed", "skipped"


def _user_or_none(acting_user: Any) -> Any:
    return acting_user if getattr(acting_user, "pk", None) else None


def _plan_rows(rows: list[dict[str, Any]]) -> None:
    """What the run will do with each row, and the errors the database alone can tell."""
    ids = [row["external_id"] for row in rows if row["external_id"]]
    existing = {
        customer.external_id: customer
        for customer in Customer.objects.filter(external_id__in=ids).only(
            "id", "external_id", "region", "status"
        )
    }
    for row in rows:
        if row["errors"]:
            continue
        customer = existing.get(row["external_id"])
        if customer is None:
            row["plan"] = PLAN_CREATE
            if row["status"] == CustomerStatus.SUSPENDED:
                row["errors"].append("A new customer is active or pending_activation.")
        elif customer.status == CustomerStatus.DELETING:
            row["errors"].append(
                "The customer with this external ID is being deleted; import it again once "
                "the deletion has finished."
            )
        elif row["region"] and row["region"] != customer.region:
            row["errors"].append(
                f"The customer is stored in {customer.get_region_display()}; moving it to "
                f"{row['region']} is a relocation (its Residency tab), not an import."
            )
        else:
            row["plan"] = PLAN_UPDATE


def preview_counts(rows: list[dict[str, Any]], *, room: int) -> dict[str, int]:
    """Rows to create, update and skip; ``over_limit``: creations past the plan's limit."""
    plans = Counter(row.get("plan") for row in rows if not row["errors"])
    return {
        "create": plans[PLAN_CREATE],
        "update": plans[PLAN_UPDATE],
        "errors": sum(1 for row in rows if row["errors"]),
        "over_limit": max(0, plans[PLAN_CREATE] - room),
    }


def customer_import_create(
    *, acting_user: Any, organization: Organization, filename: str, data: bytes
) -> CustomerImport:
    """Check the file and store its preview. ``ImportFileRefused`` (a ``ValidationError``)
    when the file as a whole cannot be read; then nothing is stored."""
    require_organization_in_scope(organization)
    rows = import_rows_parse(data)
    _plan_rows(rows)
    limit = effective_limit(organization=organization, key="customers_per_org").value
    room = max(0, limit - Customer.objects.live().count())
    return CustomerImport.objects.create(
        org=organization,
        created_by=_user_or_none(acting_user),
        filename=filename[:255],
        rows=rows,
        total_rows=len(rows),
        counts=preview_counts(rows, room=room),
    )


def _audit(actor: Any, action: str, job: CustomerImport, **after: Any) -> None:
    audit_record(
        actor=actor,
        action=action,
        target_type="customer_import",
        target_id=job.id,
        after={"filename": job.filename, **after},
    )


def customer_import_start(*, acting_user: Any, customer_import: CustomerImport) -> CustomerImport:
    """Start the import of a previewed file (again: nothing happens). Small files are applied
    at once; larger ones are queued and the page follows their progress."""
    locked = CustomerImport.objects.select_for_update().get(id=customer_import.id)
    if locked.status != CustomerImportStatus.PREVIEW:
        return locked
    if all(row["errors"] for row in locked.rows):
        raise ValidationError(
            "No row of this file can be imported: fix the errors listed and upload it again."
        )
    locked.status = CustomerImportStatus.QUEUED
    locked.save(update_fields=["status"])
    _audit(
        acting_user, actions.CUSTOMER_IMPORT_START, locked, rows=locked.total_rows, **locked.counts
    )
    user_id = str(acting_user.pk) if _user_or_none(acting_user) else None
    if locked.total_rows <= INLINE_ROWS:
        customer_import_run(org_id=locked.org_id, import_id=locked.id, acting_user_id=user_id)
    else:
        kwargs = {"org_id": str(locked.org_id), "import_id": str(locked.id)}
        # Sent by name (``customers.tasks`` imports these services, not the other way round).
        task = celery_app.signature(CUSTOMER_IMPORT_TASK)
        publish_on_commit(task, kwargs={**kwargs, "acting_user_id": user_id})
    locked.refresh_from_db()
    return locked


def customer_import_run(
    *, org_id: uuid.UUID | str, import_id: uuid.UUID | str, acting_user_id: Any = None
) -> str:
    """Apply the import chunk by chunk until it is finished; returns its status."""
    while True:
        with context(org_id=org_id, role=ORGANIZATION, user_id=acting_user_id):
            status = _run_chunk(import_id)
        if status in FINISHED or status == CustomerImportStatus.PREVIEW:
            return status


def customer_import_record_error(
    *, org_id: uuid.UUID | str, import_id: uuid.UUID | str, error: str, final: bool
) -> None:
    """Note why a run stopped (the page shows it). ``final``: no retry will follow, so the
    import ends ``failed``; the rows applied before stay applied, and the result file says
    which rows were not run."""
    with context(org_id=org_id, role=ORGANIZATION):
        job = CustomerImport.objects.select_for_update().get(id=import_id)
        if job.status in FINISHED:
            return
        job.error = error[:500]
        fields = ["error"]
        if final:
            job.status, job.finished_at = CustomerImportStatus.FAILED, timezone.now()
            fields += ["status", "finished_at"]
        job.save(update_fields=fields)


def _run_chunk(import_id: uuid.UUID | str) -> str:
    job = (
        CustomerImport.objects.select_for_update(of=("self",))
        .select_related("created_by")
        .get(id=import_id)
    )
    if job.status in FINISHED or job.status == CustomerImportStatus.PREVIEW:
        return job.status
    fields = ["rows", "processed", "counts", "status"]
    if job.status == CustomerImportStatus.QUEUED:
        job.status, job.started_at = CustomerImportStatus.RUNNING, timezone.now()
        fields.append("started_at")
    organization = Organization.objects.select_related("plan").get(id=job.org_id)
    chunk = job.rows[job.processed : job.processed + CHUNK_ROWS]
    for row in chunk:
        _apply_row(row, actor=job.created_by, organization=organization)
    job.processed += len(chunk)
    job.counts = {**job.counts, **outcome_counts(job.rows)}
    if job.processed >= job.total_rows:
        job.status, job.finished_at = CustomerImportStatus.DONE, timezone.now()
        fields.append("finished_at")
        _audit(job.created_by, actions.CUSTOMER_IMPORT_FINISH, job, **outcome_counts(job.rows))
    job.save(update_fields=fields)
    return job.status


def outcome_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many rows were created, updated, left unchanged, failed or skipped so far."""
    counted = Counter(row["outcome"] for row in rows if row.get("outcome"))
    return {
        outcome: counted[outcome]
        for outcome in ("created", "updated", "unchanged", OUTCOME_FAILED, OUTCOME_SKIPPED)
    }


def _apply_row(row: dict[str, Any], *, actor: Any, organization: Organization) -> None:
    """One row, whole or not at all; its outcome is written into ``row``."""
    if row["errors"]:
        row["outcome"], row["message"] = OUTCOME_SKIPPED, "; ".join(row["errors"])
        return
    try:
        # The upsert runs in a savepoint of its own: a refused row leaves nothing behind.
        customer, outcome = customer_upsert_by_external_id(
            acting_user=actor,
            organization=organization,
            external_id=row["external_id"],
            name=row["name"],
            region=row["region"] or None,
            status=row["status"] or None,
            labels=row["labels"],
            metadata=row["metadata"],
        )
    except ValidationError as exc:
        row["outcome"], row["message"] = OUTCOME_FAILED, " ".join(exc.messages)
        return
    row["outcome"], row["customer_id"], row["message"] = outcome, str(customer.id), ""
