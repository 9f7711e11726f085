"""SPEC §14: audit rows are append-only for the runtime login.

It appends rows in its organization and reads them organization-wide, but no grant and no
policy lets it change or remove one — not even an Owner's organization-wide context, which is
the widest the runtime login ever gets. An organization's purge removes the organization's rows
through the database's own cascade, which PostgreSQL runs as the table owner.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, connections, transaction

from audit import actions
from audit.models import AuditLogEntry
from audit.services import audit_record
from customers.models import Organization, OrganizationStatus
from customers.services import organization_purge
from tenancy.context import ORGANIZATION, context
from tenancy.logins import logins
from tests.conftest import ALL_DATABASES
from tests.factories import make_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

TABLE = "audit_auditlogentry"


def _org_wide(org: Organization) -> Any:
    return context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id)


def _entry(org: Organization) -> AuditLogEntry:
    with _org_wide(org):
        return audit_record(actor=org.owner, action=actions.ROLE_CREATE, after={"name": "Support"})


def _fetch(alias: str, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall())


def _privileges(alias: str) -> dict[str, bool]:
    commands = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
    [row] = _fetch(
        alias,
        "SELECT " + ", ".join(f"has_table_privilege(current_user, %s, '{c}')" for c in commands),
        [TABLE] * len(commands),
    )
    return dict(zip(commands, row, strict=True))


def test_runtime_login_may_append_and_read_but_holds_no_update_or_delete_grant() -> None:
    assert _privileges("default") == {
        "SELECT": True,
        "INSERT": True,
        "UPDATE": False,
        "DELETE": False,
        "TRUNCATE": False,
    }


def test_the_staff_admin_login_still_reads_and_appends_audit_rows() -> None:
    granted = _privileges("platform")
    assert granted["SELECT"] and granted["INSERT"]


def test_no_policy_of_the_runtime_login_covers_update_or_delete() -> None:
    commands = {
        row[0]
        for row in _fetch(
            "owner",
            "SELECT cmd FROM pg_policies WHERE tablename = %s AND %s = ANY (roles)",
            [TABLE, logins().app],
        )
    }
    assert commands == {"SELECT", "INSERT"}


def test_an_organizations_audit_rows_go_with_it_by_the_databases_cascade() -> None:
    """The runtime login deletes the organization row (its own, during the purge); PostgreSQL
    removes the audit rows that reference it, as the table owner."""
    [(action,)] = _fetch(
        "owner",
        "SELECT con.confdeltype FROM pg_constraint con "
        "JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey) "
        "WHERE con.contype = 'f' AND con.conrelid = %s::regclass "
        "AND con.confrelid = 'customers_organization'::regclass AND a.attname = 'org_id'",
        [TABLE],
    )
    assert action == "c"


# Each tries to rewrite, backdate or erase history in the organization's own, widest context.
ATTACKS: dict[str, str] = {
    "rewrite the action": f"UPDATE {TABLE} SET action = 'role.delete' WHERE id = %(id)s",
    "backdate": f"UPDATE {TABLE} SET created_at = created_at - interval '1 year' WHERE id = %(id)s",
    "blank the change": f"UPDATE {TABLE} SET after = '{{}}'::jsonb WHERE id = %(id)s",
    "move the address": f"UPDATE {TABLE} SET ip_address = '192.0.2.1' WHERE id = %(id)s",
    "blank the user agent": f"UPDATE {TABLE} SET user_agent = NULL WHERE id = %(id)s",
    "erase the row": f"DELETE FROM {TABLE} WHERE id = %(id)s",
    "erase the whole log": f"DELETE FROM {TABLE}",
    "overwrite through an upsert": f"INSERT INTO {TABLE} SELECT * FROM {TABLE} WHERE id = %(id)s "
    "ON CONFLICT (id) DO UPDATE SET action = 'role.delete'",
    "lock the row to rewrite it": f"SELECT id FROM {TABLE} WHERE id = %(id)s FOR UPDATE",
    "truncate": f"TRUNCATE {TABLE}",
}


def _as_seen(entry: AuditLogEntry) -> tuple[Any, ...]:
    [row] = _fetch(
        "default", f"SELECT action, created_at, after::text FROM {TABLE} WHERE id = %s", [entry.id]
    )
    return row


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_organization_wide_runtime_login_cannot_change_or_remove_an_audit_row(
    attack: str,
) -> None:
    org = make_org("Acme")
    entry = _entry(org)
    sql = ATTACKS[attack]
    with _org_wide(org):
        before = _as_seen(entry)
        with pytest.raises(DatabaseError) as refused, transaction.atomic():
            with connections["default"].cursor() as cursor:
                cursor.execute(sql, {"id": str(entry.id)} if "%(id)s" in sql else None)
        assert isinstance(refused.value.__cause__, psycopg.errors.InsufficientPrivilege)
        assert "row-level security" not in str(refused.value)  # refused by the grant itself
        assert _as_seen(entry) == before


def test_the_orm_cannot_change_or_remove_an_audit_row_either() -> None:
    org = make_org("Acme")
    entry = _entry(org)
    with _org_wide(org):
        for attempt in (
            lambda: AuditLogEntry.objects.filter(id=entry.id).update(action="role.delete"),
            lambda: AuditLogEntry.objects.unscoped().filter(id=entry.id).delete(),
            lambda: AuditLogEntry.objects.all().delete(),
            lambda: AuditLogEntry.objects.get(id=entry.id).save(),
        ):
            with pytest.raises(DatabaseError), transaction.atomic():
                attempt()
        assert AuditLogEntry.objects.get(id=entry.id).action == actions.ROLE_CREATE


def test_organization_purge_still_removes_the_organizations_audit_rows() -> None:
    org, other = make_org("Doomed"), make_org("Survivor")
    _entry(org)
    kept = _entry(other)
    with _org_wide(org):
        Organization.objects.filter(id=org.id).update(status=OrganizationStatus.DELETING)
        assert AuditLogEntry.objects.exists()
        organization_purge(organization_id=org.id)
        assert not AuditLogEntry.objects.exists()
        assert not Organization.objects.filter(id=org.id).exists()
    with _org_wide(other):
        assert AuditLogEntry.objects.filter(id=kept.id).exists()
