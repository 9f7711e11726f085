"""Signup and confirmation resends are throttled per client address and per target address, in
Redis; a throttled form keeps what was typed; an unreachable cache never loses a signup."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from fastn_console.throttle import SIGNUP_PER_EMAIL, SIGNUP_PER_IP, SIGNUP_RESEND
from signup.models import SignupApplication
from tests.conftest import ALL_DATABASES
from tests.signup.helpers import form_data, make_application, unique_domain

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def unconsumed_queue(settings):
    from fastn_console.celery import app

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-throttle"
    settings.SIGNUP_TASK_QUEUE = queue
    yield
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(queue)


def test_one_address_cannot_file_signups_without_end(unconsumed_queue) -> None:
    client = Client(REMOTE_ADDR="198.51.100.20")
    for n in range(SIGNUP_PER_IP.limit):
        assert client.post("/signup/", form_data(f"Company {n}")).status_code == 302
    response = client.post("/signup/", form_data("One Too Many Ltd"))
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    page = response.content.decode()
    assert "Too many signups from your network" in page
    assert 'value="One Too Many Ltd"' in page  # nothing typed is lost
    assert SignupApplication.objects.count() == SIGNUP_PER_IP.limit
    # Another network is not affected.
    other = Client(REMOTE_ADDR="198.51.100.21").post("/signup/", form_data("Elsewhere Inc"))
    assert other.status_code == 302


def test_one_victim_address_gets_a_bounded_number_of_confirmation_emails(
    unconsumed_queue,
) -> None:
    victim = f"victim@{unique_domain()}"
    spellings = [victim, victim.upper(), f" {victim.capitalize()} "]
    for n in range(SIGNUP_PER_EMAIL.limit):
        client = Client(REMOTE_ADDR=f"203.0.113.{n + 1}")
        response = client.post("/signup/", form_data(f"Spam {n}", email=spellings[n % 3]))
        assert response.status_code == 302
    response = Client(REMOTE_ADDR="203.0.113.99").post(
        "/signup/", form_data("Spam again", email=victim)
    )
    assert response.status_code == 429
    assert "Too many signups for this email address" in response.content.decode()
    assert SignupApplication.objects.filter(email__iexact=victim).count() == SIGNUP_PER_EMAIL.limit


def test_confirmation_resends_are_limited_per_day(mailoutbox) -> None:
    application = make_application("Resend Co")
    client = Client()
    url = f"/signup/status/{application.status_token}/resend/"
    for _ in range(SIGNUP_RESEND.limit):
        SignupApplication.objects.filter(id=application.id).update(
            confirmation_sent_at=timezone.now() - timedelta(minutes=5)
        )
        client.post(url)
    sent = len(mailoutbox)
    SignupApplication.objects.filter(id=application.id).update(
        confirmation_sent_at=timezone.now() - timedelta(minutes=5)
    )
    response = client.post(url, follow=True)
    assert "sent too often today" in response.content.decode()
    assert len(mailoutbox) == sent


def test_an_unreachable_cache_never_loses_a_signup(settings, unconsumed_queue) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    response = Client().post("/signup/", form_data("Cache Down Ltd"))
    assert response.status_code == 302
    assert SignupApplication.objects.filter(company_name="Cache Down Ltd").exists()
