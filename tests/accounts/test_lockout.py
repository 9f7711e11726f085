"""Login lockout (django-axes): one budget per account whatever the letter case, one per client
address, and the address comes from X-Forwarded-For only behind a configured proxy."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client, RequestFactory
from django.urls import reverse

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _login(client: Client, email: str, password: str, **headers: str):
    return client.post(
        reverse("accounts:login"), {"username": email, "password": password}, **headers
    )


def test_failures_in_any_letter_case_count_against_one_account(settings) -> None:
    make_user("target@example.test")
    spellings = ["Target@example.test", "TARGET@EXAMPLE.TEST", " target@Example.test "]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client = Client(REMOTE_ADDR=f"10.0.0.{attempt + 1}")
        _login(client, spellings[attempt % len(spellings)], "wrong-password")
    response = _login(Client(REMOTE_ADDR="10.0.1.1"), "target@example.test", PASSWORD)
    assert response.status_code == 429


def test_a_locked_account_stays_locked_from_another_address(settings) -> None:
    make_user("target@example.test")
    attacker = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(attacker, "target@example.test", "wrong-password")
    response = _login(Client(REMOTE_ADDR="10.9.9.9"), "target@example.test", PASSWORD)
    assert response.status_code == 429


def test_an_address_spraying_many_accounts_is_locked(settings) -> None:
    victim = make_user("victim@example.test")
    sprayer = Client(REMOTE_ADDR="10.0.0.7")
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login(sprayer, f"someone{n}@example.test", "wrong-password")
    assert _login(sprayer, victim.email, PASSWORD).status_code == 429
    # Another address is not affected by that one's failures.
    assert _login(Client(REMOTE_ADDR="10.0.0.8"), victim.email, PASSWORD).status_code == 302


def test_forwarded_for_is_ignored_without_a_trusted_proxy(settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 0
    victim = make_user("victim@example.test")
    sprayer = Client(REMOTE_ADDR="10.0.0.7")
    for n in range(settings.AXES_FAILURE_LIMIT):
        # A client that invents a new X-Forwarded-For each time still spends one budget.
        _login(sprayer, f"someone{n}@example.test", "nope", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    response = _login(sprayer, victim.email, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert response.status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_locked(settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    victim = make_user("victim@example.test")
    proxy = Client(REMOTE_ADDR="10.0.0.1")
    for n in range(settings.AXES_FAILURE_LIMIT):
        # The client's own left-most entry is ignored; the proxy appended the real address.
        _login(
            proxy,
            f"someone{n}@example.test",
            "nope",
            HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.5",
        )
    locked = _login(proxy, victim.email, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert locked.status_code == 429
    other_client = _login(proxy, victim.email, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert other_client.status_code == 302


def test_forwarded_proto_is_not_believed_without_a_trusted_proxy() -> None:
    assert django_settings.TRUSTED_PROXY_COUNT == 0
    request = RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https")
    assert not request.is_secure()
