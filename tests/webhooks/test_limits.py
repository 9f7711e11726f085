"""Limit notifications at 80 % and 100 % of a window: once per window, by email to the
billing managers, as a console banner and as webhook events (SPEC §12)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from customers.models import CustomerLimitOverride
from roles.catalog import ADMIN, DEVELOPER
from tests.api.conftest import make_key, wait_for_fresh_minute
from tests.conftest import ALL_DATABASES
from tests.factories import client_for, make_customer, make_member, make_org, make_user
from tests.webhooks.conftest import in_org, make_endpoint
from webhooks import events
from webhooks.models import LimitNotice, WebhookEvent
from webhooks.services import limit_notice_email

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

DAY_LIMIT = 10


def _call(key: str, customer=None):
    headers = {"Authorization": f"Bearer {key}"}
    if customer is not None:
        headers["x-end-org-id"] = str(customer.id)
    return Client().get("/api/v1/key", headers=headers)


@pytest.fixture
def vandelay():
    """A Free organization whose customer may make 10 API calls a day, with an endpoint for
    the limit events, an Admin and a Developer."""
    org = make_org("Vandelay Industries", plan_code="free")
    customer = make_customer(org, "Vandelay")
    with in_org(org):
        CustomerLimitOverride.objects.create(
            org=org, customer=customer, limit_key="api_calls_per_day", value=DAY_LIMIT
        )
    make_endpoint(org, event_types=[events.LIMIT_WARNING, events.LIMIT_REACHED])
    admin = make_member(org, ADMIN, user=make_user())
    developer = make_member(org, DEVELOPER, user=make_user())
    wait_for_fresh_minute(10)
    return org, customer, make_key(org, "viewer"), admin, developer


def _notices(org) -> list[tuple[str, str]]:
    with in_org(org):
        return list(LimitNotice.objects.order_by("created_at").values_list("limit_key", "level"))


def test_80_and_100_percent_of_a_window_are_noticed_once_each(vandelay) -> None:
    org, customer, key, _, _ = vandelay
    answers = [_call(key, customer).status_code for _ in range(DAY_LIMIT + 3)]
    assert answers == [200] * DAY_LIMIT + [429] * 3
    assert _notices(org) == [("api_calls_per_day", "warning"), ("api_calls_per_day", "reached")]
    with in_org(org):
        emitted = list(WebhookEvent.objects.order_by("created_at"))
    assert [e.event_type for e in emitted] == [events.LIMIT_WARNING, events.LIMIT_REACHED]
    warning = emitted[0].data
    assert warning["customer"]["name"] == "Vandelay"
    assert (warning["limit"]["name"], warning["limit"]["count"]) == ("api_calls_per_day", 8)
    assert warning["limit"]["threshold"] == "80%"
    assert emitted[0].subject_customer_id == customer.id


def test_billing_managers_are_emailed_once_per_notice(
    vandelay, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    org, customer, key, admin, _ = vandelay
    for _ in range(DAY_LIMIT):
        _call(key, customer)
    with django_capture_on_commit_callbacks(execute=True), in_org(org):
        notices = list(LimitNotice.objects.order_by("created_at"))
        sent = [limit_notice_email(notice_id=n.id) for n in notices]
        again = [limit_notice_email(notice_id=n.id) for n in notices]
    assert sent == [2, 2] and again == [0, 0]
    assert len(mailoutbox) == 2
    assert sorted(mailoutbox[0].to) == sorted([org.owner.email, admin.user.email])
    assert mailoutbox[0].subject == "Vandelay is at 80 % of API calls per day (Vandelay Industries)"
    assert "8 of 10 API calls per day" in mailoutbox[0].body
    assert "refused with 429" in mailoutbox[1].body


def test_the_console_banner_names_the_customer_and_the_limit(vandelay) -> None:
    org, customer, key, admin, developer = vandelay
    for _ in range(DAY_LIMIT):
        _call(key, customer)
    page = client_for(admin.user).get(f"/o/{org.slug}/")
    assert b"Vandelay reached its API calls per day limit (10 of 10)" in page.content
    # Members who may not see billing see no banner.
    other = client_for(developer.user).get(f"/o/{org.slug}/settings/customers/")
    assert other.status_code == 200 and b"API calls per day limit" not in other.content


def test_calls_without_a_customer_are_noticed_organization_wide(vandelay) -> None:
    org, _, key, admin, _ = vandelay
    for _ in range(16):  # 80 % of the Free plan's 20 calls a minute
        assert _call(key).status_code == 200
    with in_org(org):
        notice = LimitNotice.objects.get()
    assert (notice.subject_customer_id, notice.limit_key) == (None, "api_calls_per_minute")
    page = client_for(admin.user).get(f"/o/{org.slug}/")
    assert b"Calls without a customer is at 80 % of its API calls per minute limit" in page.content


def test_per_minute_notices_are_emailed_at_most_once_a_day(
    vandelay, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    org, customer, _, _, _ = vandelay
    start = timezone.now().replace(hour=0, minute=1, second=0, microsecond=0)
    with in_org(org):
        first, second = (
            LimitNotice.objects.create(
                org=org,
                subject_customer_id=customer.id,
                limit_key="events_per_minute",
                level="warning",
                window_start=start + timedelta(minutes=m),
                window_end=start + timedelta(minutes=m + 1),
                count=8,
                limit=10,
            )
            for m in (0, 5)
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert limit_notice_email(notice_id=first.id) == 2
            assert limit_notice_email(notice_id=second.id) == 0
    assert len(mailoutbox) == 1
