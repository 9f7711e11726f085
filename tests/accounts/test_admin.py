from __future__ import annotations

import pytest

from tests.conftest import ALL_DATABASES
from tests.factories import client_for, make_org, make_user

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_staff_can_open_the_admin_and_see_users() -> None:
    staff = make_user("staff@platform.test", is_staff=True, is_superuser=True)
    make_user("someone@example.test")
    response = client_for(staff).get("/admin/accounts/user/")
    assert response.status_code == 200
    assert b"someone@example.test" in response.content


def test_organization_member_who_is_not_staff_cannot_open_the_admin() -> None:
    org = make_org()
    response = client_for(org.owner).get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_admin_queries_run_as_the_platform_login() -> None:
    from django.db import connections

    from customers.models import Customer
    from tenancy.context import platform_scope
    from tenancy.router import TenantRouter

    with platform_scope():
        alias = TenantRouter().db_for_read(Customer)
    assert alias == "platform"
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == "fastn_platform"
