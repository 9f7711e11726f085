"""A customer's Limits tab shows its usage over time (SPEC §13): daily charts for 30 and 90 days
against its own limits, from the same source as ``GET /api/v1/usage`` with ``x-end-org-id``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from billing.selectors import usage_today
from roles import catalog
from tests.billing.chart_html import chart_levels, chart_numbers
from tests.billing.usage_data import override_limit, pending_usage, record_usage
from tests.conftest import ALL_DATABASES
from tests.factories import client_for
from tests.roles.helpers import custom_role, member_holding
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
__all__ = ["pending_usage"]  # a fixture


def _day(days_ago: int) -> date:
    return usage_today() - timedelta(days=days_ago)


def _tab(world: World, query: str = "") -> str:
    return world.customer_url(suffix="limits/") + query


def test_the_limits_tab_charts_the_customers_own_stored_and_pending_usage(
    shared_world: World, pending_usage: Callable[..., None]
) -> None:
    org = shared_world.org
    record_usage(org, "event", 60, days_ago=4, customer=shared_world.customer)
    record_usage(org, "api_call", 300, days_ago=1, customer=shared_world.customer)
    record_usage(org, "event", 999, days_ago=4, customer=shared_world.second_customer)
    record_usage(org, "event", 999, days_ago=4)  # without a customer
    record_usage(org, "event", 70, days_ago=50, customer=shared_world.customer)
    pending_usage(org, "api_call", 6, shared_world.customer)
    pending_usage(org, "api_call", 500, shared_world.second_customer)

    response = shared_world.client(catalog.ADMIN).get(_tab(shared_world))
    assert response.status_code == 200
    body = response.content.decode()
    events = chart_numbers(body, "customer-events_per_day")
    calls = chart_numbers(body, "customer-api_calls_per_day")
    assert len(events) == len(calls) == 30
    assert {day: n for day, n in events.items() if n} == {_day(4): 60}
    assert {day: n for day, n in calls.items() if n} == {_day(1): 300, _day(0): 6}
    assert "limit 500 a day (plan)" in body and "limit 1,000 a day (plan)" in body

    ninety = shared_world.client(catalog.ADMIN).get(_tab(shared_world, "?days=90"))
    events = chart_numbers(ninety.content.decode(), "customer-events_per_day")
    assert len(events) == 90 and events[_day(50)] == 70


def test_an_override_moves_the_limit_line_and_the_levels(shared_world: World) -> None:
    org = shared_world.org
    override_limit(org, shared_world.customer, "api_calls_per_day", 100)
    record_usage(org, "api_call", 100, days_ago=2, customer=shared_world.customer)
    record_usage(org, "api_call", 85, days_ago=3, customer=shared_world.customer)
    body = shared_world.client(catalog.OWNER).get(_tab(shared_world)).content.decode()
    levels = chart_levels(body, "customer-api_calls_per_day")
    assert (levels[_day(2)], levels[_day(3)], levels[_day(0)]) == ("full", "warning", "ok")
    assert "limit 100 a day (override)" in body and "1 day at the limit" in body


def test_a_period_that_is_not_offered_falls_back_to_30_days(shared_world: World) -> None:
    body = shared_world.client(catalog.OWNER).get(_tab(shared_world, "?days=365")).content
    text = body.decode()
    assert "“365” is not a period: showing 30 days" in text
    assert len(chart_numbers(text, "customer-events_per_day")) == 30


def test_members_without_billing_read_do_not_get_the_limits_tab(shared_world: World) -> None:
    for role in (catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER):
        response = shared_world.client(role).get(_tab(shared_world, "?days=90"))
        assert response.status_code == 403, role
        assert b"usage-chart" not in response.content


def test_a_member_restricted_to_the_customer_with_billing_read_sees_only_its_usage(
    shared_world: World, pending_usage: Callable[..., None]
) -> None:
    role = custom_role(
        shared_world,
        "Customer billing",
        ["customers.read", "billing.read"],
        customer_restricted=True,
    )
    member = member_holding(
        shared_world, role, "customer-billing@acme.test", customer=shared_world.customer
    )
    org = shared_world.org
    record_usage(org, "event", 8, customer=shared_world.customer)
    record_usage(org, "event", 400, customer=shared_world.second_customer)
    pending_usage(org, "event", 2, shared_world.customer)
    pending_usage(org, "event", 300, shared_world.second_customer)
    client = client_for(member.user)
    response = client.get(_tab(shared_world))
    assert response.status_code == 200
    assert chart_numbers(response.content.decode(), "customer-events_per_day")[_day(0)] == 10
    other = shared_world.customer_url(shared_world.second_customer, "limits/")
    assert client.get(other).status_code == 404


def test_an_outsider_gets_404_on_the_limits_tab(shared_world: World) -> None:
    response = shared_world.outsider_client().get(_tab(shared_world, "?days=90"))
    assert response.status_code == 404
