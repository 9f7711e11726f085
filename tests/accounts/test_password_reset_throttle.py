"""Password-reset requests are throttled per client address and per target address (issue 13
item 6): a 429 with ``Retry-After`` and a clear message, the form keeps what was typed, and the
answer never tells whether the address has an account."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from fastn_console.throttle import PASSWORD_RESET_PER_EMAIL, PASSWORD_RESET_PER_IP
from tests.conftest import ALL_DATABASES
from tests.factories import make_user

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

RESET = reverse("accounts:password_reset")
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def _reset(client: Client, email: str):  # type: ignore[no-untyped-def]
    return client.post(RESET, {"email": email})


def test_one_victim_gets_a_bounded_number_of_reset_emails_from_many_networks(mailoutbox) -> None:
    victim = make_user("victim@example.test")
    spellings = [victim.email, victim.email.upper(), "  Victim@Example.test "]
    for n in range(PASSWORD_RESET_PER_EMAIL.limit):
        client = Client(REMOTE_ADDR=f"203.0.113.{n + 1}")
        assert _reset(client, spellings[n % len(spellings)]).status_code == 302
    assert len(mailoutbox) == PASSWORD_RESET_PER_EMAIL.limit

    refused = _reset(Client(REMOTE_ADDR="203.0.113.99"), "VICTIM@example.test")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    page = refused.content.decode()
    assert "Too many resets for this address" in page
    assert 'value="VICTIM@example.test"' in page  # what was typed stays in the form
    assert len(mailoutbox) == PASSWORD_RESET_PER_EMAIL.limit


def test_one_network_cannot_request_resets_without_end(mailoutbox) -> None:
    client = Client(REMOTE_ADDR="198.51.100.30")
    for n in range(PASSWORD_RESET_PER_IP.limit):
        assert _reset(client, f"someone{n}@example.test").status_code == 302
    refused = _reset(client, "one-more@example.test")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many password resets from your network" in refused.content.decode()
    # Another network is not affected.
    assert _reset(Client(REMOTE_ADDR="198.51.100.31"), "other@example.test").status_code == 302


def test_the_throttle_does_not_tell_whether_an_address_has_an_account(mailoutbox) -> None:
    make_user("real@example.test")
    answers = {}
    for email in ("real@example.test", "nobody@example.test"):
        for n in range(PASSWORD_RESET_PER_EMAIL.limit):
            response = _reset(Client(REMOTE_ADDR=f"192.0.2.{n + 1}"), email)
            assert response.status_code == 302
            assert response["Location"] == reverse("accounts:password_reset_done")
        refused = _reset(Client(REMOTE_ADDR="192.0.2.200"), email)
        page = CSRF_TOKEN.sub("", refused.content.decode()).replace(email, "ADDRESS")
        answers[email] = (refused.status_code, page)
    assert answers["real@example.test"] == answers["nobody@example.test"]
    assert answers["real@example.test"][0] == 429
    assert len(mailoutbox) == PASSWORD_RESET_PER_EMAIL.limit  # only the real account got mail


def test_a_reset_under_the_limits_still_sends_its_link(mailoutbox) -> None:
    user = make_user("forgetful@example.test")
    response = _reset(Client(REMOTE_ADDR="198.51.100.40"), user.email)
    assert response.status_code == 302
    assert len(mailoutbox) == 1
