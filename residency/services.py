"""Moving a customer's data plane to another region (SPEC §6).

The customer enters ``relocating`` (reads allowed, writes refused); a Celery task copies its rows
to the new region's database in committed batches, verifies counts and checksums table by table,
switches the customer's region, deletes the old rows and returns the customer to its previous
status. Until the switch, reads are routed to the old region only — copied rows in the new
region are invisible (organization-wide reads filter each region by the customers that live
there) — so no row is ever visible twice. A failure before the switch removes what was copied
and leaves the customer whole in its old region; a retry first removes leftovers of an
interrupted run. After the switch, the task only finishes the (idempotent) clean-up.

Rows move in PostgreSQL's binary COPY format, so every value round-trips exactly and Python
only forwards bytes: ``COPY (SELECT …) TO STDOUT`` reads the batch from the old region under the
customer's policies, ``COPY FROM STDIN`` writes it to a temporary table of the transaction on the
new region (``COPY FROM`` is refused on RLS tables, and a temporary table has none), and one
``INSERT … SELECT`` moves it into the real table, where the policies check every row. The runtime
login stays subject to row-level security throughout. Verification compares, per table, the row
count and a sum of per-row 64-bit hashes (``hash_record_extended``) computed by PostgreSQL on
both sides: no sort and no string of the whole table.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.utils import timezone
from psycopg import sql

from audit import actions
from audit.services import audit_record
from customers.models import Customer, CustomerStatus, Region
from dataplane.models import (
    Configuration,
    Connection,
    Event,
    ExecutionLog,
    Workflow,
)
from residency.models import ACTIVE_STATES, Relocation, RelocationState
from tenancy.context import ORGANIZATION, context, region_alias, require_scope
from tenancy.tasks import publish_on_commit

# Parents before children: composite foreign keys are checked at once (NOT DEFERRABLE).
DATA_PLANE_MODELS: tuple[type[models.Model], ...] = (
    Connection,
    Workflow,
    ExecutionLog,
    Configuration,
)
# What a relocation moves: the above and the events, before the execution logs that keep the
# event that triggered them (dataplane_executionlog_event_fk).
RELOCATED_MODELS: tuple[type[models.Model], ...] = (
    Connection,
    Workflow,
    Event,
    ExecutionLog,
    Configuration,
)
# Rows per committed batch: progress, the lease and a resumed run advance batch by batch.
BATCH_SIZE = 50_000
STEPS = ("copy", "verify", "switch", "clean")
LEASE = timedelta(minutes=5)


class LeaseLost(RuntimeError):
    """Another runner took the relocation over (this one stalled past its lease)."""


class RelocationFault(RuntimeError):
    """Raised by the test-only fault injection hook (``RESIDENCY_FAULT_AT`` setting)."""


def _inject_fault(step: str) -> None:
    if getattr(settings, "RESIDENCY_FAULT_AT", None) == step:
        raise RelocationFault(f"Injected failure at step {step!r}")


def relocation_start(*, acting_user: Any, customer: Customer, to_region: str) -> Relocation:
    """Put the customer in ``relocating`` and queue the move."""
    scope = require_scope()
    if to_region not in Region.values:
        raise ValidationError({"to_region": "Choose one of the regions."})
    assert scope.org_id is not None
    locked = Customer.objects.select_for_update().get(id=customer.id)
    if locked.region == to_region:
        raise ValidationError({"to_region": "The customer's data is already stored there."})
    if locked.status in (CustomerStatus.RELOCATING, CustomerStatus.DELETING):
        raise ValidationError(f"The customer is {locked.get_status_display().lower()}.")
    relocation = Relocation.objects.create(
        org_id=scope.org_id,
        customer=locked,
        from_region=locked.region,
        to_region=to_region,
        previous_status=locked.status,
        requested_by=acting_user,
    )
    locked.status = CustomerStatus.RELOCATING
    locked.save(update_fields=["status"])
    _audit(
        acting_user,
        actions.CUSTOMER_RELOCATION_START,
        locked.id,
        before={"region": relocation.from_region},
        after={"region": to_region},
    )
    _enqueue(relocation)
    return relocation


def _audit(actor: Any, action: str, customer_id: uuid.UUID, **changes: Any) -> None:
    audit_record(
        actor=actor,
        action=action,
        target_type="customer",
        target_id=customer_id,
        subject_customer_id=customer_id,
        **changes,
    )


def _enqueue(relocation: Relocation) -> None:
    # residency.tasks imports this module to run the relocation: services ↔ tasks.
    from residency.tasks import relocate_customer

    org_id, relocation_id = str(relocation.org_id), str(relocation.id)
    queue = getattr(settings, "RESIDENCY_TASK_QUEUE", None)
    publish_on_commit(
        relocate_customer, kwargs={"org_id": org_id, "relocation_id": relocation_id}, queue=queue
    )


def _table(model: type[models.Model]) -> str:
    return model._meta.db_table


def _fetch_one(alias: str, sql: str, params: list[Any]) -> tuple[Any, ...]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    assert row is not None
    return tuple(row)


def _execute(alias: str, sql: str, params: list[Any]) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _columns(model: type[models.Model]) -> str:
    return ", ".join(f'"{field.column}"' for field in model._meta.concrete_fields)


def table_fingerprint(
    alias: str, model: type[models.Model], customer_id: uuid.UUID
) -> tuple[int, str]:
    """Row count and an order-independent checksum of one customer's rows: the sum (numeric:
    it cannot overflow) of a 64-bit hash of each row, every column hashed by its type."""
    count, digest = _fetch_one(
        alias,
        f"SELECT count(*), coalesce(sum(hash_record_extended(t, 0)), 0)::text "
        f"FROM (SELECT {_columns(model)} FROM {_table(model)} WHERE customer_id = %s) t",
        [str(customer_id)],
    )
    return int(count), str(digest)


def _delete_customer_rows(alias: str, customer_id: uuid.UUID) -> int:
    return sum(
        _execute(alias, f"DELETE FROM {_table(model)} WHERE customer_id = %s", [str(customer_id)])
        for model in reversed(RELOCATED_MODELS)
    )


def _copy_batch(
    model: type[models.Model],
    *,
    customer_id: uuid.UUID,
    after: str | None,
    source: str,
    target: str,
) -> tuple[int, str | None]:
    """Copy the next batch of rows (by id, after ``after``) inside the caller's context; returns
    how many were copied and the last id."""
    table, columns = _table(model), _columns(model)
    staging = f"relocation_{table}"
    with connections[source].cursor() as reader, connections[target].cursor() as writer:
        # The scope's settings reach a connection with its next statement (tenancy's execute
        # wrapper); COPY is not one, so each side runs a statement first (without them the
        # policies would show the COPY no rows and verification would fail). The reader's gives
        # the batch's sort by id the memory to stay off disk.
        reader.execute("SET LOCAL work_mem = '64MB'")
        writer.execute(f"CREATE TEMPORARY TABLE {staging} (LIKE {table}) ON COMMIT DROP")
        # COPY takes no parameters: the values are quoted into the statement.
        select = sql.SQL(
            f"COPY (SELECT {columns} FROM {table} WHERE customer_id = {{customer}} "
            f"AND ({{after}}::uuid IS NULL OR id > {{after}}::uuid) ORDER BY id "
            f"LIMIT {BATCH_SIZE}) TO STDOUT (FORMAT BINARY)"
        ).format(customer=sql.Literal(str(customer_id)), after=sql.Literal(after))
        with (
            reader.copy(select.as_string(reader.cursor)) as rows_out,
            writer.copy(f"COPY {staging} ({columns}) FROM STDIN (FORMAT BINARY)") as rows_in,
        ):
            for block in rows_out:
                rows_in.write(block)
        writer.execute(
            f"WITH moved AS (INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "
            "RETURNING id) SELECT count(*), max(id::text) FROM moved"
        )
        count, last = writer.fetchone()
        writer.execute(f"DROP TABLE {staging}")
    return int(count), last


def _copy_table(
    model: type[models.Model],
    *,
    org_id: uuid.UUID,
    customer_id: uuid.UUID,
    source: str,
    target: str,
    progress: Callable[[int], None],
) -> None:
    last_id = None
    while True:
        with context(org_id=org_id, role=ORGANIZATION):
            count, last_id = _copy_batch(
                model, customer_id=customer_id, after=last_id, source=source, target=target
            )
            if not count:
                return
            progress(count)
        if count < BATCH_SIZE:
            return


def relocation_run(*, org_id: uuid.UUID | str, relocation_id: uuid.UUID | str) -> Relocation:
    """Run (or resume) one relocation. Safe to run again after any interruption."""
    org = uuid.UUID(str(org_id))
    runner = uuid.uuid4()
    with context(org_id=org, role=ORGANIZATION):
        relocation = Relocation.objects.select_for_update().get(id=relocation_id)
        if relocation.state not in ACTIVE_STATES:
            return relocation
        now = timezone.now()
        leased = relocation.lease_expires_at is not None and relocation.lease_expires_at > now
        if leased:
            return relocation
        relocation.attempts += 1
        relocation.error = ""
        relocation.lease_owner, relocation.lease_expires_at = runner, now + LEASE
        relocation.save(update_fields=["attempts", "error", "lease_owner", "lease_expires_at"])
    try:
        if not relocation.switched:
            _copy_and_verify(relocation)
            _switch(relocation)
        _clean(relocation)
    except LeaseLost:
        raise
    except Exception as exc:
        _record_failure(relocation, exc)
        raise
    return relocation


def _renew_lease(relocation: Relocation, **fields: Any) -> None:
    """Extend this runner's lease (inside the caller's context), or stop if it was lost."""
    renewed = Relocation.objects.filter(
        id=relocation.id, lease_owner=relocation.lease_owner
    ).update(lease_expires_at=timezone.now() + LEASE, **fields)
    if not renewed:
        raise LeaseLost(f"Relocation {relocation.id} is being run by another worker.")


def _set_state(relocation: Relocation, state: str, **fields: Any) -> None:
    with context(org_id=relocation.org_id, role=ORGANIZATION):
        Relocation.objects.filter(id=relocation.id).update(state=state, **fields)
    relocation.state = state
    for name, value in fields.items():
        setattr(relocation, name, value)


def _copy_and_verify(relocation: Relocation) -> None:
    source, target = region_alias(relocation.from_region), region_alias(relocation.to_region)
    customer_id = relocation.customer_id
    with context(org_id=relocation.org_id, role=ORGANIZATION):
        _delete_customer_rows(target, customer_id)  # leftovers of an interrupted run
        expected = {
            _table(model): table_fingerprint(source, model, customer_id)
            for model in RELOCATED_MODELS
        }
    total = sum(count for count, _ in expected.values())
    _set_state(relocation, RelocationState.COPYING, rows_total=total, rows_copied=0)
    copied = 0

    def progress(rows: int) -> None:
        nonlocal copied
        copied += rows
        _renew_lease(relocation, rows_copied=copied)

    for model in RELOCATED_MODELS:
        _copy_table(
            model,
            org_id=relocation.org_id,
            customer_id=customer_id,
            source=source,
            target=target,
            progress=progress,
        )
    _inject_fault("copy")
    _set_state(relocation, RelocationState.VERIFYING, rows_copied=copied)
    with context(org_id=relocation.org_id, role=ORGANIZATION):
        actual = {
            _table(model): table_fingerprint(target, model, customer_id)
            for model in RELOCATED_MODELS
        }
    _inject_fault("verify")
    mismatched = [table for table in expected if expected[table] != actual[table]]
    if mismatched:
        raise RelocationFault(f"Verification failed for {', '.join(mismatched)}")
    relocation.row_counts = {table: count for table, (count, _) in expected.items()}


def _switch(relocation: Relocation) -> None:
    _inject_fault("switch")
    with context(org_id=relocation.org_id, role=ORGANIZATION):
        Customer.objects.filter(id=relocation.customer_id).update(region=relocation.to_region)
        Relocation.objects.filter(id=relocation.id).update(
            switched=True, state=RelocationState.CLEANING, row_counts=relocation.row_counts
        )
    relocation.switched = True
    relocation.state = RelocationState.CLEANING


def _finish(
    relocation: Relocation, state: str, action: str, *, audit: dict[str, Any], **fields: Any
) -> None:
    """End the relocation in ``state``: the customer gets its previous status back, the lease
    is released, and the end is audited (inside the caller's context)."""
    Customer.objects.filter(id=relocation.customer_id).update(status=relocation.previous_status)
    Relocation.objects.filter(id=relocation.id).update(
        state=state, finished_at=timezone.now(), lease_owner=None, lease_expires_at=None, **fields
    )
    _audit(relocation.requested_by, action, relocation.customer_id, **audit)


def _clean(relocation: Relocation) -> None:
    source = region_alias(relocation.from_region)
    with context(org_id=relocation.org_id, role=ORGANIZATION):
        _inject_fault("clean")
        _delete_customer_rows(source, relocation.customer_id)
        _finish(
            relocation,
            RelocationState.DONE,
            actions.CUSTOMER_RELOCATION_DONE,
            audit={
                "before": {"region": relocation.from_region},
                "after": {"region": relocation.to_region, "row_counts": relocation.row_counts},
            },
        )
    relocation.state = RelocationState.DONE


def _record_failure(relocation: Relocation, exc: Exception) -> None:
    """Before the switch: remove what was copied and give the customer back, whole, in its
    old region. After it: keep the state so a retry finishes the clean-up."""
    message = f"{exc.__class__.__name__}: {exc}"[:2000]
    with context(org_id=relocation.org_id, role=ORGANIZATION):
        if relocation.switched:
            # Release the lease so a retry can finish the clean-up at once.
            Relocation.objects.filter(id=relocation.id).update(
                error=message, lease_owner=None, lease_expires_at=None
            )
            return
        _delete_customer_rows(region_alias(relocation.to_region), relocation.customer_id)
        _finish(
            relocation,
            RelocationState.FAILED,
            actions.CUSTOMER_RELOCATION_FAILED,
            audit={"after": {"error": message[:200], "region": relocation.from_region}},
            error=message,
        )
