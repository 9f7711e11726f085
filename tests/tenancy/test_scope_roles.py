"""On a region database of its own the data plane is reached only through a scope role
(tenancy.scope_roles): the runtime login itself sees and writes nothing there whatever its
settings say, each role sees only what its scope allows, and the role ends with the
transaction. The attacks write raw SQL as the runtime login, the way a bug or an injected
statement would."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from django.db import DatabaseError, connections, transaction
from psycopg import sql

from dataplane.models import ExecutionLog
from tenancy.checks import scope_role_problems
from tenancy.context import CUSTOMER, ORGANIZATION, context, region_alias, standalone_reads
from tenancy.logins import logins, scope_role_names
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

EU = region_alias("eu")
SETTINGS = (
    "SELECT set_config('app.org_id', %s, true), set_config('app.tenant_id', %s, true), "
    "set_config('app.role', %s, true)"
)
INSERT = (
    "INSERT INTO dataplane_executionlog (id, org_id, customer_id, created_at, source, status, "
    "started_at, duration_ms, message) VALUES (%s, %s, %s, now(), 'workflow', 'completed', "
    "now(), 1, 'probe')"
)


def _as_runtime_login(*, org: object, customer: object = None, role: str = "", enter: str = ""):
    """Count the EU execution logs, then try to insert one, in a rolled-back transaction with
    the settings given and, when ``enter`` names one, that database role entered."""
    with transaction.atomic(using=EU), connections[EU].cursor() as cursor:
        cursor.execute(SETTINGS, [str(org), str(customer or ""), role])
        if enter:
            cursor.execute("SELECT set_config('role', %s, true)", [enter])
        cursor.execute("SELECT count(*) FROM dataplane_executionlog")
        seen = cursor.fetchone()[0]
        try:
            with transaction.atomic(using=EU):
                cursor.execute(INSERT, [str(uuid.uuid4()), str(org), str(customer or org)])
            inserted = True
        except DatabaseError:
            inserted = False
        transaction.set_rollback(True, using=EU)
    return seen, inserted


def test_the_runtime_login_itself_sees_and_writes_nothing_whatever_its_settings(
    two_customers,
) -> None:
    org, mine, _ = two_customers
    assert _as_runtime_login(org=org.id, role=ORGANIZATION) == (0, False)
    assert _as_runtime_login(org=org.id, customer=mine.id, role=CUSTOMER) == (0, False)


def test_each_scope_role_sees_what_its_scope_allows_and_no_more(two_customers) -> None:
    org, mine, _ = two_customers
    names = logins()
    org_wide = _as_runtime_login(org=org.id, role=ORGANIZATION, enter=names.organization_scope)
    assert org_wide == (2, True)
    mine_only = _as_runtime_login(
        org=org.id, customer=mine.id, role=CUSTOMER, enter=names.customer_scope
    )
    assert mine_only == (1, True)
    # A role entered without the settings it reads sees nothing.
    assert _as_runtime_login(org="", enter=names.organization_scope) == (0, False)
    assert _as_runtime_login(org=org.id, enter=names.customer_scope) == (0, False)


def test_the_customer_role_checks_the_organization_too(two_customers) -> None:
    """A customer of one organization under another organization's settings (a bug that mixed
    them up) reads none of the customer's rows."""
    _, mine, _ = two_customers
    names = logins()
    seen, _ = _as_runtime_login(org=uuid.uuid4(), customer=mine.id, enter=names.customer_scope)
    assert seen == 0


def test_the_organization_role_cannot_write_into_another_organization(two_customers) -> None:
    org, mine, _ = two_customers
    with transaction.atomic(using=EU), connections[EU].cursor() as cursor:
        cursor.execute(SETTINGS, [str(org.id), "", ORGANIZATION])
        cursor.execute("SELECT set_config('role', %s, true)", [logins().organization_scope])
        with pytest.raises(DatabaseError, match="row-level security"):
            cursor.execute(INSERT, [str(uuid.uuid4()), str(uuid.uuid4()), str(mine.id)])
        transaction.set_rollback(True, using=EU)


@pytest.mark.parametrize("login", ["owner", "platform"])
def test_the_runtime_login_cannot_become_a_login_with_wider_policies(login: str) -> None:
    with transaction.atomic(using=EU), connections[EU].cursor() as cursor:
        with pytest.raises(DatabaseError, match="permission denied"):
            cursor.execute("SELECT set_config('role', %s, true)", [getattr(logins(), login)])
        transaction.set_rollback(True, using=EU)


def _current_user(alias: str) -> str:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT current_user")
        return str(cursor.fetchone()[0])


def test_the_context_enters_the_scope_role_and_it_ends_with_the_transaction(
    two_customers,
) -> None:
    org, mine, _ = two_customers
    names = logins()
    with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER):
        assert _current_user(EU) == names.customer_scope
        assert _current_user("default") == names.app  # the main database enters no role
        with context(org_id=org.id, role=ORGANIZATION):
            assert _current_user(EU) == names.organization_scope
        assert _current_user(EU) == names.customer_scope
    assert _current_user(EU) == names.app
    with context(org_id=org.id, role=ORGANIZATION), standalone_reads():
        assert ExecutionLog.objects.using(EU).count() == 2
        assert _current_user(EU) == names.organization_scope  # a read of its own, role and all
    assert _current_user(EU) == names.app


@pytest.mark.usefixtures("two_customers")
def test_a_user_scope_enters_no_role() -> None:
    with context(user_id=uuid.uuid4()):
        with connections[EU].cursor() as cursor:
            cursor.execute("SELECT current_user, count(*) FROM dataplane_executionlog")
            assert cursor.fetchone() == (logins().app, 0)


def test_the_startup_check_reports_scope_roles_the_login_cannot_enter() -> None:
    assert scope_role_problems(EU, logins().app) == []
    problems = scope_role_problems(EU, "fastn_nobody")
    assert any("fastn_nobody_organization does not exist" in p for p in problems), problems
    assert any("fastn_nobody_customer does not exist" in p for p in problems), problems


@pytest.fixture
def misconfigured_login() -> Iterator[str]:
    """A throwaway login that inherits its scope roles, one of which may log in and the other
    of which it is no member of (made through the bootstrap login; roles are cluster-wide)."""
    name = f"fastn_probe_{secrets.token_hex(4)}"
    organization, customer = (sql.Identifier(role) for role in scope_role_names(name))
    login = sql.Identifier(name)
    with psycopg.connect(os.environ["DATABASE_BOOTSTRAP_URL"], autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN INHERIT").format(login))
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(organization))
        admin.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(customer))
        admin.execute(sql.SQL("GRANT {} TO {}").format(organization, login))
        try:
            yield name
        finally:
            admin.execute(sql.SQL("DROP ROLE {}, {}, {}").format(organization, customer, login))


def test_the_startup_check_reports_every_way_the_scope_roles_are_misconfigured(
    misconfigured_login: str,
) -> None:
    problems = scope_role_problems(EU, misconfigured_login)
    assert any(f"{misconfigured_login}_organization may log in" in p for p in problems), problems
    assert any(f"cannot enter {misconfigured_login}_customer" in p for p in problems), problems
    assert any("inherits its scope roles" in p for p in problems), problems
    assert not any(f"cannot enter {misconfigured_login}_organization" in p for p in problems)
