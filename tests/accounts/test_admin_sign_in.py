"""SPEC §14: sign-ins through the staff admin's own form are audited like the console's — in
each organization the account belongs to, and on the security log for staff who belong to
none — with the address and user agent."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from accounts import two_factor
from accounts.models import User
from accounts.services import two_factor_enable
from audit import actions
from audit.models import AuditLogEntry
from customers.models import Organization
from roles import catalog
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.factories import PASSWORD, make_member, make_org, make_user

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

BROWSER = {"HTTP_USER_AGENT": "Staff browser/2.0", "REMOTE_ADDR": "192.0.2.44"}
STAFF = "staff.member@fastn.test"


def _rows(org: Organization, action: str) -> list[AuditLogEntry]:
    with context(org_id=org.id, role=ORGANIZATION):
        return list(AuditLogEntry.objects.filter(action=action, target_id=str(_staff().pk)))


def _staff() -> User:
    return User.objects.get(email=STAFF)


def _admin_login(client: Client, password: str = PASSWORD) -> int:
    response = client.post(
        "/admin/login/?next=/admin/", {"username": STAFF, "password": password}, **BROWSER
    )
    return int(response.status_code)


def _security_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "fastn_console.security"]


@pytest.fixture
def member_staff() -> Organization:
    org = make_org("Platform Friends")
    make_member(org, catalog.VIEWER, user=make_user(STAFF, is_staff=True))
    return org


def test_a_staff_sign_in_at_the_admin_is_audited_where_they_are_a_member(
    member_staff: Organization, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fastn_console.security")
    assert _admin_login(Client()) == 302
    [row] = _rows(member_staff, actions.AUTH_LOGIN)
    assert row.after == {"method": "admin_password"}
    assert (row.ip_address, row.user_agent) == ("192.0.2.44", "Staff browser/2.0")
    [line] = _security_lines(caplog)
    assert (line.action, line.email, line.ip_address, line.audit_rows) == (  # type: ignore[attr-defined]
        actions.AUTH_LOGIN,
        STAFF,
        "192.0.2.44",
        1,
    )


def test_a_wrong_password_at_the_admin_is_audited_as_a_failure(
    member_staff: Organization, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fastn_console.security")
    assert _admin_login(Client(), password="not-the-password") == 200
    [row] = _rows(member_staff, actions.AUTH_LOGIN_FAILED)
    assert row.after == {"method": "admin_password", "reason": "invalid_credentials"}
    assert _rows(member_staff, actions.AUTH_LOGIN) == []
    [line] = _security_lines(caplog)
    assert line.action == actions.AUTH_LOGIN_FAILED  # type: ignore[attr-defined]


def test_staff_who_belong_to_no_organization_are_on_the_security_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    make_user(STAFF, is_staff=True)
    caplog.set_level(logging.INFO, logger="fastn_console.security")
    client = Client()
    assert _admin_login(client) == 302
    assert client.post("/admin/logout/", **BROWSER).status_code == 302
    lines = _security_lines(caplog)
    assert [(line.action, line.audit_rows) for line in lines] == [  # type: ignore[attr-defined]
        (actions.AUTH_LOGIN, 0),
        (actions.AUTH_LOGOUT, 0),
    ]
    assert all(line.user_agent == "Staff browser/2.0" for line in lines)  # type: ignore[attr-defined]


def test_staff_with_two_factor_are_recorded_once_the_code_is_right(
    member_staff: Organization,
) -> None:
    secret = two_factor.new_secret()
    step = two_factor.current_step()
    two_factor_enable(user=_staff(), secret=secret, code=two_factor.totp_at(secret, step - 1))
    client = Client()
    assert _admin_login(client) == 302
    assert _rows(member_staff, actions.AUTH_LOGIN) == []
    answer = client.post("/accounts/login/code/", {"code": two_factor.totp_at(secret, step)})
    assert answer.status_code == 302
    [row] = _rows(member_staff, actions.AUTH_LOGIN)
    assert row.after == {"method": "password+totp"}


def test_the_consoles_own_login_and_logout_are_recorded_once(member_staff: Organization) -> None:
    client = Client()
    response = client.post("/accounts/login/", {"username": STAFF, "password": PASSWORD})
    assert response.status_code == 302
    assert len(_rows(member_staff, actions.AUTH_LOGIN)) == 1
    assert client.post("/accounts/logout/").status_code == 302
    assert len(_rows(member_staff, actions.AUTH_LOGOUT)) == 1


# The admin's pages read through the platform login's own connection: committed data only.
@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_an_admin_sign_out_is_audited_where_they_are_a_member(member_staff: Organization) -> None:
    client = Client()
    assert _admin_login(client) == 302
    assert client.post("/admin/logout/", **BROWSER).status_code == 302
    [row] = _rows(member_staff, actions.AUTH_LOGOUT)
    assert row.after == {"method": "admin"} and row.ip_address == "192.0.2.44"
