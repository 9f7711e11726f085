"""Raw SQL probes: what the database does when ``fastn_app`` tries something.

Each statement runs in its own savepoint, so a refused statement leaves the probe's transaction
usable, and the outcome says whether PostgreSQL refused it (row-level security, foreign key) or
how many rows it touched.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import DatabaseError, connections, transaction

from tests.isolation.spec import CUSTOMER_DATA, CUSTOMERS, ORGANIZATIONS, Placement, Table
from tests.isolation.world import IsolationWorld

RLS = "row-level security"
PRIVILEGE = "privilege"  # no grant for the command at all (append-only tables)
FOREIGN_KEY = "foreign key"


@dataclass(frozen=True)
class Outcome:
    refused: str | None
    rows: int

    @property
    def refused_by_rls(self) -> bool:
        return self.refused == RLS


def classify(exc: DatabaseError) -> str:
    cause = exc.__cause__
    if isinstance(cause, psycopg.errors.InsufficientPrivilege):
        return RLS if RLS in str(cause) else PRIVILEGE
    if isinstance(cause, psycopg.errors.ForeignKeyViolation):
        return FOREIGN_KEY
    raise exc


def run(alias: str, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> Outcome:
    try:
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            cursor.execute(sql, list(params))
            return Outcome(None, cursor.rowcount)
    except DatabaseError as exc:
        return Outcome(classify(exc), 0)


def refusal(table: Table, command: str) -> Outcome:
    """What a denied UPDATE or DELETE must come to: no row where the policies hide or protect
    the rows, the statement itself refused where the table grants no such command."""
    return Outcome(None, 0) if table.granted(command) else Outcome(PRIVILEGE, 0)


def refused(outcome: Outcome, table: Table, command: str) -> bool:
    """A write the policies must refuse (an INSERT, or an upsert's UPDATE): refused by
    row-level security, or by the missing grant where the table has none for ``command``."""
    return outcome.refused_by_rls or (
        not table.granted(command) and outcome == Outcome(PRIVILEGE, 0)
    )


def fetch(alias: str, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, list(params))
        return list(cursor.fetchall())


def rows_as_owner(isolation_world: IsolationWorld, placement: Placement) -> list[dict[str, Any]]:
    """Every row of the placement's table, read by the owner (who bypasses via
    ``owner_maintenance``); cached because probes never commit. Django's cursor hands jsonb
    back as text."""
    key = (placement.owner_alias, placement.table.name)
    if key not in isolation_world.rows_cache:
        found = fetch(
            placement.owner_alias, f"SELECT to_jsonb(t) FROM {placement.table.name} t ORDER BY id"
        )
        isolation_world.rows_cache[key] = [json.loads(row[0]) for row in found]
    return isolation_world.rows_cache[key]


def visible_ids(alias: str, table: str) -> set[str]:
    return {str(row[0]) for row in fetch(alias, f"SELECT id FROM {table}")}


def count(alias: str, table: str) -> int:
    return int(fetch(alias, f"SELECT count(*) FROM {table}")[0][0])


def insert_sql(table: str, *, conflict: str = "") -> str:
    return (
        f"INSERT INTO {table} SELECT * FROM jsonb_populate_record(NULL::{table}, %s::jsonb) "
        f"{conflict}"
    )


def insert(alias: str, table: str, row: dict[str, Any], *, conflict: str = "") -> Outcome:
    return run(alias, insert_sql(table, conflict=conflict), [json.dumps(row, default=str)])


def update_by_ids(alias: str, table: str, ids: list[Any]) -> Outcome:
    """A no-op UPDATE of ``ids``: touches the rows only if the policies let it."""
    return run(
        alias, f"UPDATE {table} SET id = id WHERE id = ANY(%s::uuid[])", [[str(i) for i in ids]]
    )


def delete_by_ids(alias: str, table: str, ids: list[Any]) -> Outcome:
    return run(alias, f"DELETE FROM {table} WHERE id = ANY(%s::uuid[])", [[str(i) for i in ids]])


def select_by_ids(alias: str, table: str, ids: list[Any]) -> int:
    found = fetch(
        alias, f"SELECT count(*) FROM {table} WHERE id = ANY(%s::uuid[])", [[str(i) for i in ids]]
    )
    return int(found[0][0])


def move(alias: str, table: str, row_id: Any, patch: dict[str, Any]) -> Outcome:
    assignments = ", ".join(f"{column} = %s" for column in patch)
    return run(
        alias,
        f"UPDATE {table} SET {assignments} WHERE id = %s",
        [*(str(v) for v in patch.values()), str(row_id)],
    )


def scope_patches(
    isolation_world: IsolationWorld, placement: Placement
) -> dict[str, dict[str, Any]]:
    """How to put a row into each party's scope (A, B: Acme; G: Globex)."""
    kind = placement.table.kind
    patches: dict[str, dict[str, Any]] = {}
    for key in ("A", "B", "G"):
        party = isolation_world.party(key, placement.party_region)
        if kind == CUSTOMER_DATA:
            patches[key] = {"org_id": party.org_id, "customer_id": party.customer_id}
        elif kind == CUSTOMERS:
            patches[key] = {"org_id": party.org_id}
        elif kind == ORGANIZATIONS:
            patches[key] = {"id": uuid.uuid4()}
        else:
            patches[key] = {"org_id": party.org_id}
    return patches


def owner_of(
    isolation_world: IsolationWorld, placement: Placement, row: dict[str, Any]
) -> str | None:
    """Which party a row belongs to (None for rows of no party, e.g. organization-wide)."""
    kind = placement.table.kind
    for key in ("A", "B", "G"):
        party = isolation_world.party(key, placement.party_region)
        if kind == CUSTOMER_DATA and row["customer_id"] == str(party.customer_id):
            return key
        if kind == CUSTOMERS and row["id"] == str(party.customer_id):
            return key
    if kind == ORGANIZATIONS:
        return {
            str(isolation_world.party("A", placement.party_region).org_id): "A",
            str(isolation_world.party("G", placement.party_region).org_id): "G",
        }.get(row["id"])
    if kind not in (CUSTOMER_DATA, CUSTOMERS):
        return {
            str(isolation_world.party("A", placement.party_region).org_id): "A",
            str(isolation_world.party("G", placement.party_region).org_id): "G",
        }.get(row["org_id"])
    return None


def sample_rows(isolation_world: IsolationWorld, placement: Placement) -> dict[str, dict[str, Any]]:
    """One row per party (the first by id), the templates and victims of the probes."""
    samples: dict[str, dict[str, Any]] = {}
    for row in rows_as_owner(isolation_world, placement):
        key = owner_of(isolation_world, placement, row)
        if key is not None and key not in samples:
            samples[key] = row
    return samples


def with_patch(row: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    return {**row, **{k: None if v is None else str(v) for k, v in patch.items()}}


def unique_constraints(alias: str, table: str) -> list[str]:
    """Named UNIQUE constraints besides the primary key and the (scope, id) pair."""
    found = fetch(
        alias,
        """
        SELECT con.conname, array_agg(att.attname::text ORDER BY att.attname)
          FROM pg_constraint con
          JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = ANY (con.conkey)
         WHERE con.conrelid = %s::regclass AND con.contype = 'u'
         GROUP BY con.conname
        """,
        [table],
    )
    return [name for name, columns in found if "id" not in columns]
