"""Read PostgreSQL's catalog and report every way a table could have slipped out of isolation.

Each function returns human-readable problems (empty when all is well) for one database alias;
any alias of a database sees the same catalog, and an owner alias inside an open transaction
also sees its own uncommitted scratch tables, which is how the tests prove each rule can fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections

from tenancy.checks import ALLOWED_WITHOUT_RLS, ORGANIZATIONS_TABLE, append_only_problems
from tenancy.logins import has_scope_roles, logins
from tenancy.router import DATA_PLANE_APPS


def _fetch(alias: str, sql: str) -> list[tuple[Any, ...]]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def is_data_plane(table: str) -> bool:
    return any(table.startswith(f"{label}_") for label in DATA_PLANE_APPS)


def scope_column(table: str) -> str:
    return "customer_id" if is_data_plane(table) else "org_id"


@dataclass(frozen=True)
class TableInfo:
    name: str
    rls: bool
    force: bool
    columns: frozenset[str]

    @property
    def scoped(self) -> bool:
        return "org_id" in self.columns or self.name == ORGANIZATIONS_TABLE


def tables(alias: str) -> dict[str, TableInfo]:
    found = _fetch(
        alias,
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               ARRAY(SELECT a.attname::text FROM pg_attribute a
                      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        """,
    )
    return {name: TableInfo(name, rls, force, frozenset(cols)) for name, rls, force, cols in found}


@dataclass(frozen=True)
class PolicyInfo:
    table: str
    name: str
    permissive: bool
    roles: tuple[str, ...]
    command: str
    using: str
    check: str


def policies(alias: str) -> list[PolicyInfo]:
    found = _fetch(
        alias,
        "SELECT tablename, policyname, permissive, roles::text[], cmd, coalesce(qual, ''), "
        "coalesce(with_check, '') FROM pg_policies WHERE schemaname = 'public'",
    )
    return [
        PolicyInfo(table, name, permissive == "PERMISSIVE", tuple(roles), cmd, using, check)
        for table, name, permissive, roles, cmd, using, check in found
    ]


def rls_problems(alias: str) -> list[str]:
    """Every table with ``org_id``: ENABLE + FORCE, ``fastn_app``'s organization rule (and,
    with ``customer_id``, its customer rule), and ``owner_maintenance``."""
    names = logins()
    by_table: dict[str, list[PolicyInfo]] = {}
    for policy in policies(alias):
        by_table.setdefault(policy.table, []).append(policy)
    problems = []
    for table in tables(alias).values():
        if not table.scoped:
            continue
        own = by_table.get(table.name, [])
        app = [p for p in own if names.app in p.roles]
        if not (table.rls and table.force):
            problems.append(f"{table.name}: lacks ENABLE + FORCE ROW LEVEL SECURITY")
        by_roles = is_data_plane(table.name) and has_scope_roles(alias)
        if by_roles:
            problems += _scope_role_problems(table.name, own)
        elif not any(p.permissive and "app.org_id" in p.using + p.check for p in app):
            problems.append(f"{table.name}: no permissive policy on app.org_id for {names.app}")
        if (
            "customer_id" in table.columns
            and not by_roles
            and not any(
                not p.permissive and p.command == "ALL" and "app.tenant_id" in p.using for p in app
            )
        ):
            problems.append(f"{table.name}: no restrictive policy on app.tenant_id for {names.app}")
        if not any(
            p.name == "owner_maintenance"
            and p.permissive
            and p.roles == (names.owner,)
            and p.command == "ALL"
            and p.using == p.check == "true"
            for p in own
        ):
            problems.append(f"{table.name}: no owner_maintenance policy for {names.owner}")
    return problems


def _scope_role_problems(table: str, own: list[PolicyInfo]) -> list[str]:
    """A data-plane table of a region database of its own: one policy per scope role, none for
    the runtime login itself (``tenancy.scope_roles``)."""
    names = logins()
    problems = [
        f"{table}: a policy for {names.app} itself: {p.name}" for p in own if names.app in p.roles
    ]
    org = [p for p in own if p.roles == (names.organization_scope,)]
    if not any(p.permissive and "app.org_id" in p.using and "app.org_id" in p.check for p in org):
        problems.append(f"{table}: no policy on app.org_id for {names.organization_scope}")
    customer = [p for p in own if p.roles == (names.customer_scope,)]
    if not any(
        p.permissive
        and all(part in p.using and part in p.check for part in ("app.org_id", "app.tenant_id"))
        for p in customer
    ):
        problems.append(f"{table}: no policy on app.tenant_id for {names.customer_scope}")
    return problems


def allow_list_problems(alias: str) -> list[str]:
    """Every table without ``org_id`` must be allow-listed, with a reason."""
    return [
        f"{table.name}: has no org_id and is not in ALLOWED_WITHOUT_RLS"
        for table in tables(alias).values()
        if not table.scoped and not ALLOWED_WITHOUT_RLS.get(table.name, "").strip()
    ]


@dataclass(frozen=True)
class ForeignKey:
    name: str
    child: str
    parent: str
    deferrable: bool
    pairs: tuple[tuple[str, str], ...]


def foreign_keys(alias: str) -> list[ForeignKey]:
    found = _fetch(
        alias,
        """
        SELECT con.conname, child.relname, parent.relname, con.condeferrable,
               ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, i)
                       JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
                      ORDER BY k.i),
               ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, i)
                       JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
                      ORDER BY k.i)
          FROM pg_constraint con
          JOIN pg_class child ON child.oid = con.conrelid
          JOIN pg_class parent ON parent.oid = con.confrelid
          JOIN pg_namespace n ON n.oid = child.relnamespace
         WHERE con.contype = 'f' AND n.nspname = 'public'
        """,
    )
    return [
        ForeignKey(name, child, parent, deferrable, tuple(zip(cols, parent_cols, strict=True)))
        for name, child, parent, deferrable, cols, parent_cols in found
    ]


def foreign_key_problems(alias: str) -> list[str]:
    """Data-plane keys between data-plane tables carry ``customer_id``; control-plane keys
    between organization-scoped tables (other than to the organizations table) carry
    ``org_id``; composite keys are NOT DEFERRABLE."""
    info = tables(alias)
    problems = []
    for key in foreign_keys(alias):
        child, parent = info[key.child], info[key.parent]
        if len(key.pairs) > 1 and key.deferrable:
            problems.append(f"{key.name} on {key.child}: composite key is DEFERRABLE")
        if is_data_plane(key.child) and is_data_plane(key.parent):
            wanted = ("customer_id", "customer_id")
        elif child.scoped and parent.scoped and key.parent != ORGANIZATIONS_TABLE:
            wanted = ("org_id", "org_id")
        else:
            continue
        if wanted not in key.pairs:
            problems.append(
                f"{key.name} on {key.child} -> {key.parent}: foreign key lacks {wanted[0]}"
            )
    return problems


def unique_index_problems(alias: str) -> list[str]:
    """Every unique index of a scoped table but the primary key includes the scope column."""
    info = tables(alias)
    found = _fetch(
        alias,
        """
        SELECT t.relname, i.relname, ix.indisprimary,
               ARRAY(SELECT a.attname::text FROM unnest(ix.indkey) k(num)
                       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.num),
               coalesce(pg_get_expr(ix.indexprs, ix.indrelid), '')
          FROM pg_index ix
          JOIN pg_class t ON t.oid = ix.indrelid
          JOIN pg_class i ON i.oid = ix.indexrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE ix.indisunique AND n.nspname = 'public' AND t.relkind IN ('r', 'p')
        """,
    )
    problems = []
    for table, index, primary, columns, expressions in found:
        if primary or table == ORGANIZATIONS_TABLE or not info[table].scoped:
            continue
        column = scope_column(table)
        if column not in columns and column not in expressions:
            problems.append(f"{index} on {table}: unique index lacks {column}")
    return problems


CHECKS: dict[str, Callable[[str], list[str]]] = {
    "rls": rls_problems,
    "allow_list": allow_list_problems,
    "foreign_keys": foreign_key_problems,
    "unique_indexes": unique_index_problems,
    "append_only": append_only_problems,
}


def all_catalog_problems(alias: str) -> list[str]:
    return [problem for check in CHECKS.values() for problem in check(alias)]
