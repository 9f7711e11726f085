"""Settings → Customers and Billing in a real browser, as the demo owner and the demo viewer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings

from customers.models import Customer, Organization
from tenancy.context import ORGANIZATION, context
from tests.browser.fixtures import Console
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def demo() -> Organization:
    from customers.demo import seed

    seed(log=lambda *args: None)
    with context(user_id=None):
        return Organization.objects.get(slug="acme")


def _acme_customers(acme: Organization) -> list[Customer]:
    with context(org_id=acme.id, role=ORGANIZATION):
        return list(Customer.objects.order_by("name"))


def _log_in(console: Console, who: str) -> Any:
    """Log in as the demo's ``who`` (``owner``, ``viewer``) and return the page."""
    console.login(f"{who}@acme.test", settings.DEMO_PASSWORD)
    return console.page


def _shoot_at_both_widths(console: Console, name: str, path: str) -> None:
    """Open ``path``, screenshot it and check it does not scroll sideways at 375 px."""
    console.goto(path)
    console.shoot(name)
    console.page.set_viewport_size({"width": 375, "height": 800})
    console.assert_no_horizontal_scroll()
    console.page.set_viewport_size({"width": 1280, "height": 800})


def test_owner_creates_a_customer_finds_it_and_overrides_its_limits(
    console: Console, demo: Organization
) -> None:
    page = _log_in(console, "owner")
    console.shoot("overview")

    page.get_by_role("navigation", name="Console").get_by_role("link", name="Customers").click()
    page.wait_for_url("**/settings/customers/")
    console.shoot("customers-list")

    page.get_by_role("link", name="Create Customer").click()
    page.wait_for_url("**/settings/customers/new/")
    console.shoot("customer-create")
    page.get_by_role("button", name="Create customer").click()
    assert page.locator(".has-error .errorlist").first.is_visible()
    console.shoot("customer-create-errors")

    page.get_by_label("Name").fill("Wayne Enterprises")
    page.get_by_label("External ID").fill("we-001")
    page.get_by_label("Region").select_option("eu")
    page.get_by_role("button", name="Create customer").click()
    page.wait_for_url(re.compile(r".*/customers/[0-9a-f-]{36}/$"))
    customer_id = page.locator("dd code.customer-id").inner_text().strip()
    assert UUID.fullmatch(customer_id)
    assert customer_id in page.locator(".messages").inner_text()
    console.shoot("customer-created")

    page.get_by_role("link", name="Customers", exact=True).first.click()
    page.wait_for_url("**/settings/customers/")
    assert customer_id in page.locator("table").inner_text()

    search = page.get_by_label("Search customers")
    search.fill("Wayne")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    assert rows.count() == 1 and customer_id in rows.first.inner_text()
    search.fill(customer_id)
    page.get_by_role("button", name="Filter").click()
    assert page.locator("tbody tr").count() == 1
    console.shoot("customers-search")
    search.fill("no such customer")
    page.get_by_role("button", name="Filter").click()
    assert "No customer matches" in page.content()
    console.shoot("customers-search-empty")

    page.get_by_role("link", name="Billing").click()
    page.wait_for_url("**/settings/billing/")
    console.shoot("billing")
    page.get_by_role("link", name="Customize Customer Limits").click()
    page.wait_for_url("**/settings/billing/limits/")
    console.shoot("billing-limits-index")
    page.get_by_label("Search customers").fill("Wayne")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Customize limits of Wayne Enterprises").click()
    page.wait_for_url(f"**/settings/billing/limits/{customer_id}/")
    page.get_by_role("spinbutton", name="Events per day").fill("-3")
    page.get_by_role("button", name="Save limits").click()
    assert page.locator(".has-error .errorlist").first.is_visible()
    console.shoot("billing-limits-errors")
    page.get_by_role("spinbutton", name="Events per day").fill("5000")
    page.get_by_role("button", name="Save limits").click()
    assert "Limits saved for Wayne Enterprises" in page.locator(".messages").inner_text()
    console.shoot("billing-limits-customer")

    page.get_by_role("link", name="View the customer's Limits tab").click()
    page.wait_for_url(f"**/customers/{customer_id}/limits/")
    row = page.locator("tr", has_text="Events per day")
    assert "5,000" in row.inner_text() and "Override" in row.inner_text()
    console.shoot("customer-limits-tab")


def test_every_customer_screen_at_both_widths(console: Console, demo: Organization) -> None:
    _log_in(console, "owner")
    customer = next(c for c in _acme_customers(demo) if c.region == "eu")
    base = f"/o/acme/customers/{customer.id}/"
    for tab in ("connections", "workflows", "executions", "configuration", "limits", "residency"):
        _shoot_at_both_widths(console, f"customer-tab-{tab}", f"{base}{tab}/")
    assert "whsec_demo_only" not in console.page.content()
    console.goto(f"{base}configuration/")
    assert "webhook_secret" in console.page.content()
    assert "whsec_demo_only" not in console.page.content()
    console.goto(f"{base}residency/")
    assert "Data stored in the European Union" in console.page.content()
    for name, path in (
        ("customer-edit", f"{base}edit/"),
        ("customer-delete", f"{base}delete/"),
        ("general", "/o/acme/settings/general/"),
        ("customers-list", "/o/acme/settings/customers/"),
        ("billing", "/o/acme/settings/billing/"),
    ):
        _shoot_at_both_widths(console, name, path)


def test_viewer_has_no_create_customer_and_a_forged_post_is_refused(
    console: Console, demo: Organization
) -> None:
    page = _log_in(console, "viewer")
    console.goto("/o/acme/settings/customers/")
    assert page.locator("table").is_visible()
    assert page.get_by_role("link", name="Create Customer").count() == 0
    console.shoot("customers-list-viewer")
    console.goto("/o/acme/settings/general/")
    assert page.get_by_role("button", name="Save").count() == 0
    console.shoot("general-viewer")

    before = len(_acme_customers(demo))
    token = next(c["value"] for c in console.context.cookies() if c["name"] == "csrftoken")
    response = console.context.request.post(
        "/o/acme/settings/customers/new/",
        form={"csrfmiddlewaretoken": token, "name": "Forged", "region": "us", "activate": "on"},
        headers={"Referer": console.base_url + "/o/acme/settings/customers/"},
    )
    assert response.status == 403
    assert "CSRF" not in response.text()
    assert len(_acme_customers(demo)) == before
