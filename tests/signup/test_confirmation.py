"""Confirming a signup proves the person confirming chose its password: holding the mailbox
(the emailed link) alone cannot hand an account to whoever signed up with that address."""

from __future__ import annotations

import pytest
from django.test import Client

from fastn_console.throttle import SIGNUP_CONFIRM
from signup import services
from tests.conftest import ALL_DATABASES
from tests.signup.helpers import PASSWORD, make_application

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _link(application) -> str:
    return f"/signup/confirm/{services.confirmation_token(application)}/"


def test_the_confirmation_page_asks_for_the_signup_password() -> None:
    application = make_application()
    page = Client().get(_link(application)).content.decode()
    assert 'name="password"' in page and 'type="password"' in page


@pytest.mark.parametrize("password", ["", "the-mailbox-owner-guesses", PASSWORD.lower()])
def test_the_mailbox_owner_cannot_confirm_an_attackers_signup(password) -> None:
    # An attacker signed up with the victim's address and a password of their own.
    application = make_application(email="victim@victim-company.test")
    response = Client().post(_link(application), {"password": password})
    assert response.status_code == 200
    application.refresh_from_db()
    assert application.email_confirmed_at is None
    if password:
        assert "not the password chosen for this signup" in response.content.decode()


def test_guessing_the_password_on_the_confirmation_page_is_throttled() -> None:
    application = make_application()
    client = Client()
    for _ in range(SIGNUP_CONFIRM.limit):
        client.post(_link(application), {"password": "wrong-guess"})
    response = client.post(_link(application), {"password": PASSWORD})
    assert "Too many tries to confirm this signup" in response.content.decode()
    application.refresh_from_db()
    assert application.email_confirmed_at is None
