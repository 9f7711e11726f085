"""Settings → Billing shows usage over time (SPEC §13): daily charts for 30 and 90 days from
the same source as ``GET /api/v1/usage``, top customers, one customer's chart, and per-minute
overrides wherever overrides are listed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client

from api.models import UsageRecord
from bench.billing_page import request_queries
from billing.selectors import usage_today
from roles import catalog
from tenancy.context import ORGANIZATION, context
from tests.api.conftest import make_key
from tests.billing.chart_html import chart_levels, chart_numbers
from tests.billing.usage_data import (
    forget_redis_usage,
    override_limit,
    pending_usage,
    record_usage,
)
from tests.conftest import ALL_DATABASES
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
__all__ = ["forget_redis_usage", "pending_usage"]  # fixtures


def _billing(world: World, query: str = "", role: str = catalog.ADMIN) -> str:
    response = world.client(role).get(world.settings_url("billing/") + query)
    assert response.status_code == 200
    return response.content.decode()


def _day(days_ago: int) -> date:
    return usage_today() - timedelta(days=days_ago)


def test_the_organization_chart_shows_every_customers_stored_and_pending_usage(
    shared_world: World, pending_usage: Callable[..., None]
) -> None:
    org = shared_world.org
    record_usage(org, "event", 120, customer=shared_world.customer)
    record_usage(org, "event", 40, days_ago=3, customer=shared_world.customer)
    record_usage(org, "event", 7, days_ago=1, customer=shared_world.second_customer)
    record_usage(org, "event", 5)  # without a customer
    record_usage(org, "event", 900, days_ago=40, customer=shared_world.customer)
    record_usage(org, "api_call", 11, days_ago=29, customer=shared_world.customer)
    record_usage(shared_world.other_org, "event", 10_000, customer=shared_world.other_customer)
    pending_usage(org, "event", 3, shared_world.customer)

    body = _billing(shared_world)
    events = chart_numbers(body, "org-events_per_day")
    assert len(events) == 30 and min(events) == _day(29) and max(events) == _day(0)
    assert {day: n for day, n in events.items() if n} == {
        _day(0): 128,
        _day(1): 7,
        _day(3): 40,
    }
    calls = chart_numbers(body, "org-api_calls_per_day")
    assert {day: n for day, n in calls.items() if n} == {_day(29): 11}
    assert "total 175" in body

    ninety = _billing(shared_world, "?days=90")
    events = chart_numbers(ninety, "org-events_per_day")
    assert len(events) == 90 and events[_day(40)] == 900
    assert 'aria-current="true">90 days' in ninety


def test_billing_and_the_usage_api_give_the_same_figures(
    shared_world: World, forget_redis_usage: Callable[..., None]
) -> None:
    org = shared_world.org
    forget_redis_usage(org)
    record_usage(org, "api_call", 30, days_ago=2, customer=shared_world.customer)
    record_usage(org, "event", 9, days_ago=5, customer=shared_world.customer)
    record_usage(org, "api_call", 4, days_ago=1)
    headers = {"Authorization": f"Bearer {make_key(org, 'admin')}"}
    client = Client()
    one = client.get(
        "/api/v1/usage", headers={**headers, "x-end-org-id": str(shared_world.customer.id)}
    )
    everyone = client.get("/api/v1/usage", {"days": 90}, headers=headers)
    assert one.status_code == 200 and everyone.status_code == 200

    def api_series(response: Any, field: str) -> dict[str, int]:
        return {row["day"]: row[field] for row in response.json()["daily"]}

    picked = _billing(shared_world, f"?customer={shared_world.customer.id}")
    for chart, field in (("api_calls_per_day", "api_calls"), ("events_per_day", "events")):
        shown = {
            day.isoformat(): n for day, n in chart_numbers(picked, f"customer-{chart}").items()
        }
        assert shown == api_series(one, field), chart
    # The API calls just made count at once (pending in Redis), on both sides.
    assert api_series(one, "api_calls")[_day(0).isoformat()] == 1
    whole = _billing(shared_world, "?days=90")
    for chart, field in (("api_calls_per_day", "api_calls"), ("events_per_day", "events")):
        shown = {day.isoformat(): n for day, n in chart_numbers(whole, f"org-{chart}").items()}
        assert shown == api_series(everyone, field), chart
    assert api_series(everyone, "api_calls")[_day(0).isoformat()] == 2


def test_a_period_other_than_30_or_90_days_shows_30_with_a_notice(shared_world: World) -> None:
    for value in ("7", "abc", "-90"):
        body = _billing(shared_world, f"?days={value}")
        assert f"“{value}” is not a period: showing 30 days" in body
        assert len(chart_numbers(body, "org-events_per_day")) == 30


def test_top_customers_rank_by_usage_over_the_period_and_page(shared_world: World) -> None:
    org = shared_world.org
    record_usage(org, "api_call", 50, days_ago=10, customer=shared_world.second_customer)
    record_usage(org, "api_call", 20, customer=shared_world.customer)
    record_usage(org, "api_call", 500, days_ago=60, customer=shared_world.customer)
    record_usage(org, "event", 3)
    gone = [uuid.UUID(int=n + 1) for n in range(25)]  # customers deleted since
    for n, subject in enumerate(gone):
        record_usage(org, "api_call", 10 - n % 5, customer=subject)

    client = shared_world.client(catalog.OWNER)
    url = shared_world.settings_url("billing/")
    top = client.get(url).context["top"]
    names = [entry.name for entry in top.object_list]
    assert names[:2] == [shared_world.second_customer.name, shared_world.customer.name]
    assert (top.object_list[0].rank, top.object_list[0].api_calls) == (1, 50)
    assert top.paginator.count == 28 and len(top.object_list) == 20
    last = client.get(url, {"top": 2}).context["top"].object_list
    assert [entry.rank for entry in last] == list(range(21, 29))
    assert last[-1].name == "Organization-wide" and last[-1].events == 3
    ninety = client.get(url, {"days": 90}).context["top"].object_list
    assert (ninety[0].name, ninety[0].api_calls) == (shared_world.customer.name, 520)
    body = client.get(url).content.decode()
    assert f"customer={shared_world.customer.id}#customer-usage" in body
    assert "Deleted customer" in body and "Pages of top customers" in body


def test_one_customers_chart_against_its_own_limit(shared_world: World) -> None:
    org = shared_world.org
    override_limit(org, shared_world.customer, "events_per_day", 200)
    record_usage(org, "event", 250, days_ago=1, customer=shared_world.customer)
    record_usage(org, "event", 170, days_ago=2, customer=shared_world.customer)
    record_usage(org, "event", 99, days_ago=1, customer=shared_world.second_customer)
    body = _billing(shared_world, f"?days=90&customer={shared_world.customer.id}")
    assert f"Usage over time: {shared_world.customer.name}" in body
    numbers = chart_numbers(body, "customer-events_per_day")
    assert len(numbers) == 90 and (numbers[_day(1)], numbers[_day(2)]) == (250, 170)
    levels = chart_levels(body, "customer-events_per_day")
    assert (levels[_day(1)], levels[_day(2)], levels[_day(3)]) == ("full", "warning", "ok")
    assert "limit 200 a day (override)" in body and "1 day at the limit" in body
    assert 'class="limit"' in body


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not-an-id", "“not-an-id” is not a customer ID."),
        ("other", "No customer of this organization has that ID."),
    ],
)
def test_charting_a_customer_that_is_not_ours_shows_a_message(
    shared_world: World, value: str, message: str
) -> None:
    value = str(shared_world.other_customer.id) if value == "other" else value
    response = shared_world.client(catalog.OWNER).get(
        shared_world.settings_url("billing/"), {"customer": value}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body and "customer-usage-title" not in body
    assert shared_world.other_customer.name not in body
    assert len(chart_numbers(body, "org-events_per_day")) == 30


def test_per_minute_overrides_are_listed_on_billing_and_customize_customer_limits(
    shared_world: World,
) -> None:
    for key, value in (("events_per_minute", 45), ("api_calls_per_minute", 70)):
        override_limit(shared_world.org, shared_world.customer, key, value)
    client = shared_world.client(catalog.ADMIN)
    for path in ("billing/", "billing/limits/"):
        response = client.get(shared_world.settings_url(path))
        body = response.content.decode()
        assert "Events per minute: 45" in body and "API calls per minute: 70" in body, path
        [row] = [r for r in response.context["rows"] if r.customer == shared_world.customer]
        assert [(o.key, o.value) for o in row.overrides] == [
            ("events_per_minute", 45),
            ("api_calls_per_minute", 70),
        ]
    picked = client.get(
        shared_world.settings_url("billing/"), {"customer": shared_world.customer.id}
    ).context["picked_panel"]
    assert {limit.key: (limit.value, limit.source) for limit in picked.per_minute} == {
        "events_per_minute": (45, "override"),
        "api_calls_per_minute": (70, "override"),
    }


# --- who sees usage over time (billing.read) -------------------------------------------------


@pytest.mark.parametrize("role", [catalog.OWNER, catalog.ADMIN])
def test_members_with_billing_read_see_usage_over_time(shared_world: World, role: str) -> None:
    record_usage(shared_world.org, "event", 12, customer=shared_world.customer)
    body = _billing(shared_world, "?days=90", role=role)
    assert chart_numbers(body, "org-events_per_day")[_day(0)] == 12


@pytest.mark.parametrize("role", [catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER])
def test_members_without_billing_read_cannot_see_usage_over_time(
    shared_world: World, role: str
) -> None:
    client = shared_world.client(role)
    for query in ("?days=90", f"?customer={shared_world.customer.id}"):
        response = client.get(shared_world.settings_url("billing/") + query)
        assert response.status_code == 403
        assert b"usage-chart" not in response.content


def test_a_customer_restricted_member_and_an_outsider_get_404(shared_world: World) -> None:
    url = shared_world.settings_url("billing/") + f"?days=90&customer={shared_world.customer.id}"
    assert shared_world.client(catalog.END_USER).get(url).status_code == 404
    assert shared_world.outsider_client().get(url).status_code == 404


def test_the_number_of_queries_does_not_grow_with_customers_or_days(shared_world: World) -> None:
    org = shared_world.org
    record_usage(org, "event", 5, customer=shared_world.customer)
    record_usage(org, "api_call", 5, days_ago=3, customer=shared_world.second_customer)
    client = shared_world.client(catalog.OWNER)
    url = shared_world.settings_url("billing/") + f"?customer={shared_world.customer.id}"
    client.get(url)  # the first request of a client also sets up its session

    def counts() -> dict[int, int]:
        return {days: request_queries(client, f"{url}&days={days}") for days in (30, 90)}

    few = counts()
    with context(org_id=org.id, role=ORGANIZATION):
        UsageRecord.objects.bulk_create(
            UsageRecord(
                org=org,
                subject_customer_id=uuid.UUID(int=n + 1),
                day=_day(offset),
                kind=kind,
                count=n + offset,
            )
            for n in range(60)
            for offset in range(1, 90)
            for kind in ("event", "api_call")
        )
    assert counts() == few
    assert few[30] == few[90]
