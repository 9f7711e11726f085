from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import ALL_DATABASES
from tests.factories import PASSWORD, client_for, make_org, make_user

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def test_member_logs_in_by_email_case_insensitively_and_lands_in_their_organization() -> None:
    org = make_org("Acme Test")
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": org.owner.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 302
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == f"/o/{org.slug}/"
    assert b"Acme Test" in response.content


def test_wrong_password_shows_an_error_and_keeps_the_email() -> None:
    user = make_user("someone@example.test")
    response = Client().post(
        reverse("accounts:login"), {"username": user.email, "password": "wrong-password"}
    )
    assert response.status_code == 200
    assert b"do not match" in response.content
    assert b"someone@example.test" in response.content


def test_login_is_throttled_after_repeated_failures(settings) -> None:
    user = make_user("target@example.test")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"username": user.email, "password": "nope"})
    response = client.post(
        reverse("accounts:login"), {"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 429


def test_console_pages_require_login() -> None:
    org = make_org()
    response = Client().get(f"/o/{org.slug}/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_password_reset_sends_a_link_by_email(mailoutbox) -> None:
    user = make_user("forgetful@example.test")
    response = Client().post(reverse("accounts:password_reset"), {"email": user.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert "/accounts/password/reset/" in mailoutbox[0].body


def test_user_without_organization_sees_an_explanation() -> None:
    response = client_for(make_user()).get("/")
    assert response.status_code == 200
    assert b"not in an organization" in response.content


def test_healthz_reports_database_redis_and_celery() -> None:
    response = Client().get("/healthz")
    body = response.json()
    assert body["database"] == "ok"
    assert body["redis"] == "ok"
    assert "celery" in body
