"""SPEC §14: sign-in success and failure, sign-out, password change and reset in the audit log,
with the client's address (behind the trusted proxies only) and user agent."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from audit import actions
from audit.models import AuditLogEntry
from roles import catalog
from tests.conftest import ALL_DATABASES
from tests.factories import PASSWORD, client_for, make_member, make_org, make_user
from tests.roles.helpers import in_org
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chromium/156"


def _entries(org, action: str) -> list[AuditLogEntry]:
    with in_org(org):
        return list(AuditLogEntry.objects.filter(action=action).order_by("created_at"))


def _login(client: Client, email: str, password: str = PASSWORD, **headers: str):
    return client.post(
        reverse("accounts:login"), {"username": email, "password": password}, **headers
    )


def test_sign_in_is_recorded_with_address_and_user_agent(shared_world: World) -> None:
    user = shared_world.user(catalog.ADMIN)
    client = Client(REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT=BROWSER)
    assert _login(client, user.email.upper()).status_code == 302
    [entry] = _entries(shared_world.org, actions.AUTH_LOGIN)
    assert entry.actor_id == user.id
    assert (entry.target_type, entry.target_id) == ("user", str(user.id))
    assert entry.ip_address == "198.51.100.7"
    assert entry.user_agent == BROWSER
    assert entry.subject_customer_id is None


def test_the_address_comes_from_the_trusted_proxy_only(shared_world: World, settings) -> None:
    user = shared_world.user(catalog.VIEWER)
    forged = "192.0.2.1, 203.0.113.5"
    settings.TRUSTED_PROXY_COUNT = 0
    _login(Client(REMOTE_ADDR="10.0.0.1"), user.email, HTTP_X_FORWARDED_FOR=forged)
    settings.TRUSTED_PROXY_COUNT = 1
    _login(Client(REMOTE_ADDR="10.0.0.1"), user.email, HTTP_X_FORWARDED_FOR=forged)
    addresses = [entry.ip_address for entry in _entries(shared_world.org, actions.AUTH_LOGIN)]
    assert addresses == ["10.0.0.1", "203.0.113.5"]


def test_a_failed_sign_in_is_recorded_for_the_account_it_named(shared_world: World) -> None:
    user = shared_world.user(catalog.DEVELOPER)
    response = _login(Client(REMOTE_ADDR="198.51.100.9"), user.email, "wrong-password")
    assert response.status_code == 200
    [entry] = _entries(shared_world.org, actions.AUTH_LOGIN_FAILED)
    assert entry.actor_id == user.id
    assert entry.after == {"reason": "invalid_credentials"}
    assert entry.ip_address == "198.51.100.9"
    assert _entries(shared_world.org, actions.AUTH_LOGIN) == []


def test_a_failed_sign_in_for_an_unknown_address_writes_no_audit_row(shared_world: World) -> None:
    _login(Client(), "nobody@shared-acme.test", "wrong-password")
    with in_org(shared_world.org):
        assert not AuditLogEntry.objects.filter(action=actions.AUTH_LOGIN_FAILED).exists()


def test_a_locked_out_attempt_is_recorded_as_such(settings) -> None:
    org = make_org("Acme")
    client = Client(REMOTE_ADDR="10.0.0.3")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, org.owner.email, "wrong-password")
    assert _login(client, org.owner.email).status_code == 429
    reasons = [entry.after["reason"] for entry in _entries(org, actions.AUTH_LOGIN_FAILED)]
    # The failure that reaches the limit locks the account; the right password then is refused.
    limit = settings.AXES_FAILURE_LIMIT
    assert reasons == ["invalid_credentials"] * (limit - 1) + ["locked_out"] * 2
    assert _entries(org, actions.AUTH_LOGIN) == []


def test_sign_in_is_recorded_in_each_organization_of_the_member() -> None:
    user = make_user("both@example.test")
    acme, globex = make_org("Acme"), make_org("Globex")
    make_member(acme, catalog.VIEWER, user=user)
    make_member(globex, catalog.ADMIN, user=user)
    _login(Client(), user.email)
    assert len(_entries(acme, actions.AUTH_LOGIN)) == 1
    assert len(_entries(globex, actions.AUTH_LOGIN)) == 1


def test_an_end_users_sign_in_shows_under_their_customer(shared_world: World) -> None:
    _login(Client(), shared_world.user(catalog.END_USER).email)
    [entry] = _entries(shared_world.org, actions.AUTH_LOGIN)
    assert entry.subject_customer_id == shared_world.customer.id


def test_sign_out_is_recorded(shared_world: World) -> None:
    client = shared_world.client(catalog.OPERATOR)
    response = client.post(reverse("accounts:logout"), HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    [entry] = _entries(shared_world.org, actions.AUTH_LOGOUT)
    assert entry.actor_id == shared_world.user(catalog.OPERATOR).id
    assert entry.user_agent == BROWSER


def test_password_change_is_recorded() -> None:
    org = make_org("Acme")
    response = client_for(org.owner).post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-pass-42",
            "new_password2": "a-new-long-pass-42",
        },
    )
    assert response.status_code == 302
    [entry] = _entries(org, actions.AUTH_PASSWORD_CHANGE)
    assert entry.actor_id == org.owner.id
    assert "a-new-long-pass-42" not in str(entry.after)


def test_password_reset_request_and_completion_are_recorded(mailoutbox) -> None:
    org = make_org("Acme")
    client = Client(REMOTE_ADDR="198.51.100.20")
    client.post(reverse("accounts:password_reset"), {"email": org.owner.email})
    [request_entry] = _entries(org, actions.AUTH_PASSWORD_RESET_REQUEST)
    assert request_entry.ip_address == "198.51.100.20"
    link = re.search(r"(/accounts/password/reset/[^/\s]+/[^/\s]+/)", mailoutbox[0].body)
    assert link is not None
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-long-pass-42", "new_password2": "a-new-long-pass-42"},
    )
    assert done.status_code == 302
    [entry] = _entries(org, actions.AUTH_PASSWORD_RESET)
    assert entry.actor_id == org.owner.id


def test_rows_written_by_console_actions_carry_the_request_origin(shared_world: World) -> None:
    client = shared_world.client(catalog.ADMIN)
    response = client.post(
        shared_world.settings_url("roles/new/"),
        {"name": "Support", "description": "", "permissions": ["connectors.read"]},
        REMOTE_ADDR="198.51.100.33",
        HTTP_USER_AGENT=BROWSER,
    )
    assert response.status_code == 302
    [entry] = _entries(shared_world.org, actions.ROLE_CREATE)
    assert (entry.ip_address, entry.user_agent) == ("198.51.100.33", BROWSER)
