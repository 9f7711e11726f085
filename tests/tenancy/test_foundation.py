"""Foundation: logins, aliases, routing to region databases, the system check."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connections
from django.db.utils import ProgrammingError

from dataplane.models import Connection, ExecutionLog
from tenancy.checks import all_problems
from tenancy.context import ORGANIZATION, TenantContextMissing, context, region_alias
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer, make_customer_data, make_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _scalar(alias: str, sql: str) -> object:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_runtime_alias_connects_as_fastn_app() -> None:
    assert _scalar("default", "SELECT current_user") == "fastn_app"
    for region in settings.TENANCY_REGIONS:
        assert _scalar(region_alias(region), "SELECT current_user") == "fastn_app"


def test_owner_and_platform_aliases_use_their_logins() -> None:
    assert _scalar("owner", "SELECT current_user") == "fastn_owner"
    assert _scalar("platform", "SELECT current_user") == "fastn_platform"
    for region in settings.TENANCY_REGIONS:
        assert _scalar(region_alias(region, login="owner"), "SELECT current_user") == "fastn_owner"


def test_three_region_databases_are_separate_databases() -> None:
    names = {
        _scalar(region_alias(r), "SELECT current_database()") for r in settings.TENANCY_REGIONS
    }
    names.add(_scalar("default", "SELECT current_database()"))
    assert len(names) == 4


def test_runtime_login_cannot_bypass_rls() -> None:
    row = _scalar(
        "default",
        "SELECT rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb FROM pg_roles "
        "WHERE rolname = current_user",
    )
    assert row is False


def test_runtime_login_owns_nothing_and_cannot_truncate() -> None:
    owned = _scalar(
        "default",
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user",
    )
    assert owned == 0
    assert (
        _scalar("default", "SELECT has_table_privilege('customers_customer', 'TRUNCATE')") is False
    )
    with pytest.raises(ProgrammingError):
        with connections["default"].cursor() as cursor:
            cursor.execute("TRUNCATE customers_customer")


def test_runtime_login_has_no_access_to_admin_log() -> None:
    assert _scalar("default", "SELECT has_table_privilege('django_admin_log', 'SELECT')") is False
    assert _scalar("platform", "SELECT has_table_privilege('django_admin_log', 'INSERT')") is True


def test_system_check_finds_no_problem() -> None:
    assert all_problems() == []


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_eu_customer_rows_exist_only_in_the_eu_database() -> None:
    org = make_org()
    eu_customer = make_customer(org, region="eu")
    make_customer_data(org, eu_customer)
    counts = {}
    for region in settings.TENANCY_REGIONS:
        alias = region_alias(region, login="owner")
        with connections[alias].cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM dataplane_executionlog WHERE customer_id = %s",
                [str(eu_customer.id)],
            )
            counts[region] = cursor.fetchone()[0]
    assert counts == {"us": 0, "eu": 1, "apac": 0}


def test_customer_scope_routes_data_plane_to_its_region() -> None:
    org = make_org()
    customer = make_customer(org, region="apac")
    make_customer_data(org, customer)
    with context(org_id=org.id, customer_id=customer.id) as scope:
        assert scope.region == "apac"
        assert ExecutionLog.objects.db == region_alias("apac")
        assert ExecutionLog.objects.count() == 1


def test_data_plane_query_without_scope_raises() -> None:
    with pytest.raises(TenantContextMissing):
        list(Connection.objects.all())


def test_organization_wide_data_plane_query_must_name_its_region() -> None:
    org = make_org()
    with context(org_id=org.id, role=ORGANIZATION):
        with pytest.raises(TenantContextMissing):
            list(Connection.objects.all())
        assert list(Connection.objects.using(region_alias("eu")).all()) == []


def test_scoped_manager_refuses_user_only_scope() -> None:
    from customers.models import Customer

    with context(user_id=None):
        with pytest.raises(TenantContextMissing):
            Customer.objects.count()
