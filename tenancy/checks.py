"""The database system check of SPEC §5.3: refuse to run when isolation could be bypassed.

It runs on the runtime aliases (``default`` and the regions) and fails when

* the runtime login is a superuser, has BYPASSRLS, or owns a table;
* a table with an ``org_id`` column (or the organizations table) lacks ENABLE + FORCE row-level
  security or a policy for the runtime login;
* a table has neither RLS nor an entry in ``ALLOWED_WITHOUT_RLS`` (so nobody adds a table and
  forgets it);
* the runtime login could change or remove rows of an ``APPEND_ONLY_TABLES`` table (a grant or
  a policy for UPDATE or DELETE);
* on a region database of its own, a scope role is missing, may log in or bypass RLS, or the
  runtime login cannot enter it or inherits it (``tenancy.scope_roles``).

It is silent inside ``migrate`` (so a database can always be migrated forward) and skips tables
that are not migrated yet. ``run_startup_check()`` is called at WSGI start-up and in Celery's
``worker_init``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from tenancy.logins import has_scope_roles, logins, scope_role_names

# Tables without an org_id, each with the reason it needs no row-level security.
ALLOWED_WITHOUT_RLS: dict[str, str] = {
    "accounts_user": "People exist across organizations; memberships carry the scope.",
    "accounts_user_groups": "Links users to guardian groups; grants are checked per object.",
    "accounts_user_user_permissions": "Global user permissions; unused by tenants.",
    "django_session": "Session rows are keyed by an unguessable id and hold no tenant data.",
    "django_migrations": "Migration bookkeeping.",
    "django_content_type": "Model registry, identical for everyone.",
    "django_admin_log": "Staff admin history; the runtime login has no access at all.",
    "auth_permission": "The permission catalog, identical for everyone.",
    "auth_group": "One opaque group per (organization, role); names carry only ids.",
    "auth_group_permissions": "Global group permissions; unused (grants are per object).",
    "guardian_groupobjectpermission": "Object grants on organizations; checked after RLS.",
    "guardian_userobjectpermission": "Unused by the console; kept for the admin.",
    "axes_accessattempt": "Login throttling by username and address.",
    "axes_accessfailurelog": "Login throttling history.",
    "axes_accesslog": "Login throttling history.",
    "axes_accessattemptexpiration": "Login throttling expiry times.",
    "customers_plan": "Plans are public and shared by every organization.",
    "customers_organizationdeletion": "Outlives a deleted organization: name, slug, times only.",
    "signup_signupapplication": "Applications precede any organization; staff review them.",
}

ORGANIZATIONS_TABLE = "customers_organization"

# Tables whose rows the runtime login adds and reads but never changes or removes.
APPEND_ONLY_TABLES: dict[str, str] = {
    "audit_auditlogentry": "SPEC §14: audit rows are append-only for the runtime login.",
}

_silenced: ContextVar[bool] = ContextVar("tenancy_check_silenced", default=False)


@contextmanager
def silenced() -> Iterator[None]:
    token = _silenced.set(True)
    try:
        yield
    finally:
        _silenced.reset(token)


def runtime_aliases() -> list[str]:
    aliases = ["default"]
    for region_aliases in getattr(settings, "TENANCY_REGION_ALIASES", {}).values():
        if region_aliases.runtime not in aliases:
            aliases.append(region_aliases.runtime)
    return aliases


def _fetch(
    alias: str, sql: str, params: Iterable[Any] | dict[str, Any] = ()
) -> list[tuple[Any, ...]]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params if isinstance(params, dict) else list(params))
        return list(cursor.fetchall())


def problems_for(alias: str) -> list[str]:
    """Human-readable isolation problems of one runtime alias (empty when all is well)."""
    problems: list[str] = []
    login = _fetch(
        alias,
        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    user, is_super, bypass = login[0]
    if is_super:
        problems.append(f"{alias}: the runtime login {user} is a superuser.")
    if bypass:
        problems.append(f"{alias}: the runtime login {user} has BYPASSRLS.")
    owned = _fetch(
        alias,
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') "
        "AND pg_get_userbyid(c.relowner) = current_user",
    )
    if owned:
        names = ", ".join(sorted(row[0] for row in owned))
        problems.append(f"{alias}: the runtime login {user} owns tables: {names}.")
    tables = _fetch(
        alias,
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               EXISTS (SELECT 1 FROM information_schema.columns col
                       WHERE col.table_schema = 'public' AND col.table_name = c.relname
                         AND col.column_name = 'org_id') AS has_org,
               (SELECT count(*) FROM pg_policies p
                 WHERE p.schemaname = 'public' AND p.tablename = c.relname
                   AND (p.roles && %s::name[] OR 'public' = ANY (p.roles))) AS app_policies
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        """,
        [[user, *scope_role_names(user)]],
    )
    for name, rls, force, has_org, app_policies in tables:
        scoped = has_org or name == ORGANIZATIONS_TABLE
        if not scoped:
            if name not in ALLOWED_WITHOUT_RLS:
                problems.append(
                    f"{alias}: table {name} has no org_id and is not in the allow-list of "
                    "tables without row-level security."
                )
            continue
        if not rls or not force:
            problems.append(f"{alias}: table {name} lacks ENABLE + FORCE ROW LEVEL SECURITY.")
        if not app_policies:
            problems.append(f"{alias}: table {name} has no policy for {user}.")
    if has_scope_roles(alias):
        problems += scope_role_problems(alias, user)
    return problems + append_only_problems(alias)


def scope_role_problems(alias: str, user: str) -> list[str]:
    """A region database of its own is entered through the scope roles
    (``tenancy.scope_roles``): they must exist, log in never, bypass nothing, and reach the
    runtime login only when it enters one (it is their member, NOINHERIT)."""
    wanted = scope_role_names(user)
    found = {
        name: (is_super, bypass, can_login, member)
        for name, is_super, bypass, can_login, member in _fetch(
            alias,
            "SELECT rolname, rolsuper, rolbypassrls, rolcanlogin, "
            "pg_has_role(%s, oid, 'MEMBER') FROM pg_roles WHERE rolname = ANY (%s)",
            [user, list(wanted)],
        )
    }
    problems = []
    for role in wanted:
        if role not in found:
            problems.append(f"{alias}: the scope role {role} does not exist (db_bootstrap).")
            continue
        is_super, bypass, can_login, member = found[role]
        if is_super or bypass or can_login:
            problems.append(f"{alias}: the scope role {role} may log in or bypass RLS.")
        if not member:
            problems.append(f"{alias}: the runtime login {user} cannot enter {role}.")
    inherits = _fetch(alias, "SELECT rolinherit FROM pg_roles WHERE rolname = %s", [user])
    if inherits and inherits[0][0]:
        problems.append(
            f"{alias}: the runtime login {user} inherits its scope roles (it must be NOINHERIT)."
        )
    return problems


def append_only_problems(alias: str) -> list[str]:
    """The runtime login's ways to change or remove rows of an append-only table (tables the
    database does not have yet are skipped). Any alias of the database reads the same answer."""
    found = _fetch(
        alias,
        """
        SELECT t.name,
               has_table_privilege(%(login)s, t.name, 'UPDATE'),
               has_table_privilege(%(login)s, t.name, 'DELETE'),
               ARRAY(SELECT p.policyname::text FROM pg_policies p
                      WHERE p.schemaname = 'public' AND p.tablename = t.name
                        AND p.cmd IN ('ALL', 'UPDATE', 'DELETE')
                        AND (%(login)s = ANY (p.roles) OR 'public' = ANY (p.roles))
                      ORDER BY 1)
          FROM unnest(%(tables)s::text[]) AS t(name)
         WHERE to_regclass('public.' || t.name) IS NOT NULL
        """,
        {"login": logins().app, "tables": sorted(APPEND_ONLY_TABLES)},
    )
    problems = []
    for name, update, delete, policies in found:
        granted = [command for command, held in (("UPDATE", update), ("DELETE", delete)) if held]
        if granted:
            problems.append(
                f"{alias}: the runtime login holds {' and '.join(granted)} on the append-only "
                f"table {name}."
            )
        if policies:
            problems.append(
                f"{alias}: policies let the runtime login change rows of the append-only table "
                f"{name}: {', '.join(policies)}."
            )
    return problems


def all_problems(aliases: Iterable[str] | None = None) -> list[str]:
    if "owner" not in settings.DATABASES:
        return ["No databases are configured (DATABASE_URL is unset); run `make run`."]
    problems: list[str] = []
    for alias in aliases if aliases is not None else runtime_aliases():
        problems.extend(problems_for(alias))
    return problems


@register(Tags.database)
def rls_check(
    app_configs: Any = None, databases: Iterable[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if _silenced.get() or not databases:
        return []
    wanted = [alias for alias in databases if alias in runtime_aliases()]
    return [Error(problem, id="tenancy.E001") for problem in all_problems(wanted)]


def run_startup_check() -> None:
    """Raise ``ImproperlyConfigured`` when isolation could be bypassed (WSGI, Celery)."""
    problems = all_problems()
    for alias in runtime_aliases():
        connections[alias].close()
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start: row-level security is not in force.\n  " + "\n  ".join(problems)
        )
