"""Usage over time in a real browser, at 1280 px and 375 px, light and dark: the Billing page's
charts, the 30/90-day switch (plain links), charting one customer, and the Limits tab."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from customers.models import Customer, Organization
from tenancy.context import ORGANIZATION, context
from tests.browser.axe import Audit
from tests.browser.fixtures import NARROW, WIDE, Console
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


@pytest.fixture
def demo_customer() -> Customer:
    """The demo (``make run``'s data: weeks of daily usage); its busiest customer."""
    from customers.demo import seed

    seed(log=lambda *args: None)
    with context(user_id=None):
        acme = Organization.objects.get(slug="acme")
    with context(org_id=acme.id, role=ORGANIZATION):
        return Customer.objects.get(name="Contoso Europe")


def _check_charts(console: Console, count: int) -> None:
    """``count`` charts, each as wide as its box at both widths, the page never scrolling
    sideways, the bars drawn in a colour that differs from the chart's background."""
    page = console.page
    for width in (WIDE, NARROW):
        page.set_viewport_size({"width": width, "height": 900})
        charts = page.locator("figure.usage-chart svg")
        assert charts.count() == count
        for index in range(count):
            box = charts.nth(index).bounding_box()
            assert box is not None and 250 <= box["width"] <= width and box["height"] == 140
        console.assert_no_horizontal_scroll()
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        fill, background = page.evaluate(
            """() => {
                const svg = document.querySelector('figure.usage-chart svg');
                return [getComputedStyle(svg.querySelector('rect')).fill,
                        getComputedStyle(svg).backgroundColor];
            }"""
        )
        assert fill != background, scheme
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": WIDE, "height": 900})


def _numbers_shown(page: Any, chart: str) -> int:
    figure = page.locator(f'figure[aria-labelledby="{chart}-title"]')
    figure.get_by_text("Show the numbers").click()
    rows = figure.locator("table tbody tr")
    assert rows.first.is_visible()
    return rows.count()


def test_owner_reads_usage_over_time_on_billing_and_the_limits_tab(
    console: Console, demo_customer: Customer
) -> None:
    page = console.page
    console.login("owner@acme.test", settings.DEMO_PASSWORD)
    console.goto("/o/acme/settings/billing/")
    _check_charts(console, 2)
    assert _numbers_shown(page, "org-events_per_day") == 30
    console.shoot("billing-usage-30")

    page.get_by_role("navigation", name="Period of the organization's usage").get_by_role(
        "link", name="90 days"
    ).click()
    page.wait_for_url("**/settings/billing/?days=90#usage")
    assert _numbers_shown(page, "org-api_calls_per_day") == 90

    page.get_by_role("link", name=f"Chart the usage of {demo_customer.name}").click()
    page.wait_for_url(f"**customer={demo_customer.id}#customer-usage")
    heading = page.get_by_role("heading", name=f"Usage over time: {demo_customer.name}")
    assert heading.is_visible()
    _check_charts(console, 4)
    assert _numbers_shown(page, "customer-events_per_day") == 90
    console.shoot("billing-usage-customer-90")
    audit = Audit(page)
    audit.check("billing:usage-numbers-open")

    page.get_by_label("Chart one customer").fill("not-a-customer")
    page.get_by_role("button", name="Show").click()
    assert page.get_by_role("alert").inner_text().startswith("“not-a-customer” is not")

    console.goto(f"/o/acme/customers/{demo_customer.id}/limits/")
    _check_charts(console, 2)
    page.get_by_role("link", name="90 days").click()
    page.wait_for_url("**/limits/?days=90#usage")
    assert _numbers_shown(page, "customer-events_per_day") == 90
    console.shoot("customer-limits-usage-90")
    audit.check("limits-tab:usage-numbers-open")
    audit.assert_clean()
