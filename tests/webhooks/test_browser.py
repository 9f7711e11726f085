"""The Webhooks screens in a real browser: add an endpoint, copy its secret, read the delivery
log; screenshots at 1280 px and 375 px (git-ignored ``screenshots/``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser.fixtures import Console
from tests.conftest import ALL_DATABASES
from tests.factories import PASSWORD
from tests.webhooks.conftest import in_org
from webhooks.models import (
    LimitNotice,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

pytestmark = [
    pytest.mark.django_db(transaction=True, databases=ALL_DATABASES),
    pytest.mark.needs_binary("chromium"),
]


def _log(world, endpoint) -> None:
    now = timezone.now()
    with in_org(world.org):
        for n, (status, code, error, excerpt) in enumerate(
            [
                ("delivered", 200, "", '{"received": true}'),
                ("pending", 500, "The endpoint answered HTTP 500.", "Internal error"),
                (
                    "failed",
                    302,
                    "The endpoint redirected (HTTP 302 to https://elsewhere.example/). "
                    "Webhooks do not follow redirects: enter the final URL.",
                    "",
                ),
            ]
        ):
            event = WebhookEvent.objects.create(
                org=world.org,
                event_type="customer.created",
                data={"customer": {"name": f"Customer {n}"}},
                subject_customer_id=world.customer.id,
            )
            delivery = WebhookDelivery.objects.create(
                org=world.org,
                endpoint=endpoint,
                event=event,
                status=status,
                attempt_count=1,
                last_attempt_at=now,
                first_attempt_at=now,
                next_attempt_at=now + timedelta(minutes=5) if status == "pending" else None,
                last_status_code=code,
                last_error=error,
            )
            WebhookAttempt.objects.create(
                org=world.org,
                delivery=delivery,
                number=1,
                started_at=now,
                duration_ms=42,
                outcome="ok" if code == 200 else "http_error",
                status_code=code,
                error=error,
                response_excerpt=excerpt,
            )
        LimitNotice.objects.create(
            org=world.org,
            subject_customer_id=world.customer.id,
            limit_key="api_calls_per_day",
            level="warning",
            window_start=now - timedelta(hours=1),
            window_end=now + timedelta(hours=1),
            count=800,
            limit=1000,
        )


def test_owner_adds_an_endpoint_and_reads_its_delivery_log(
    console: Console, world, settings
) -> None:
    console.login(world.user("owner").email, PASSWORD)
    page = console.page
    page.goto(world.settings_url("webhooks/"))
    console.shoot("webhooks-empty", widths=(1280,))
    page.get_by_role("link", name="Add endpoint").click()
    page.get_by_label("Endpoint URL").fill("https://hooks.example.test/fastn")
    page.get_by_label("Description").fill("Provisioning service")
    page.get_by_label("customer.created — A customer was created").check()
    page.get_by_label("limit.reached — A customer reached a limit in its window").check()
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.locator("#secret").inner_text()
    assert secret.startswith("whsec_")
    console.shoot("webhooks-created", widths=(1280,))
    with in_org(world.org):
        endpoint = WebhookEndpoint.objects.get()
    _log(world, endpoint)
    page.get_by_role("link", name="Done").click()
    assert secret not in page.content()
    assert page.get_by_text("The endpoint answered HTTP 500.").is_visible()
    assert page.get_by_text("Northwind is at 80 % of its API calls per day limit").is_visible()
    console.shoot("webhooks-endpoint")
    console.assert_no_horizontal_scroll()
    page.goto(world.settings_url("webhooks/"))
    console.shoot("webhooks-list")
