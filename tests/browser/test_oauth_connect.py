"""Connect a customer to an OAuth 2.0 connector in a real browser, as the demo owner: the
console sends the browser to the local fake provider (which checks the PKCE verifier when the
code is exchanged), the provider sends it back, and the connection is active — at 1280 px and
375 px, without sideways scrolling, with the screenshots kept."""

from __future__ import annotations

from typing import Any

import pytest

from customers.models import Customer, Organization
from dataplane.models import Connection, ConnectionStatus
from tenancy.context import ORGANIZATION, context
from tests.browser.fixtures import DOCUMENTED_SCREENSHOTS, Console
from tests.conftest import ALL_DATABASES
from tests.dataplane.oauth_provider import oauth_connector, running_provider

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


@pytest.fixture
def demo() -> tuple[Organization, Customer]:
    from customers.demo import seed

    seed(log=lambda *args: None)
    with context(user_id=None):
        acme = Organization.objects.get(slug="acme")
    with context(org_id=acme.id, role=ORGANIZATION):
        return acme, Customer.objects.get(external_id="nw-001")


def test_owner_connects_a_customer_through_the_providers_sign_in(
    console: Console, demo: tuple[Organization, Customer], settings: Any
) -> None:
    acme, customer = demo
    with running_provider() as provider:
        connector = oauth_connector(acme, provider, settings, name="Fake CRM")
        console.login("owner@acme.test", settings.DEMO_PASSWORD)
        page = console.page
        console.goto(f"/o/acme/customers/{customer.id}/connections/new/{connector.id}/")
        console.shoot_checked("connection-oauth-connect", folder=DOCUMENTED_SCREENSHOTS)
        page.get_by_role("button", name="Continue to Fake CRM").click()
        page.wait_for_url(f"**/customers/{customer.id}/connections/*/")
        assert page.get_by_text("Active", exact=True).first.is_visible()
        console.shoot_checked("connection-oauth-connected", folder=DOCUMENTED_SCREENSHOTS)

    [request] = provider.authorize_requests
    assert request["code_challenge_method"] == "S256" and request["code_challenge"]
    [exchange] = provider.token_requests
    assert exchange["grant_type"] == "authorization_code" and exchange["code_verifier"]
    with context(org_id=acme.id, customer_id=customer.id, role=ORGANIZATION):
        connection = Connection.objects.get(connector_id=connector.id)
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.token_expires_at is not None


def test_a_provider_that_refuses_access_leaves_a_clear_page_and_no_connection(
    console: Console, demo: tuple[Organization, Customer], settings: Any
) -> None:
    acme, customer = demo
    with running_provider(deny=True) as provider:
        connector = oauth_connector(acme, provider, settings, name="Fake CRM")
        console.login("owner@acme.test", settings.DEMO_PASSWORD)
        console.goto(f"/o/acme/customers/{customer.id}/connections/new/{connector.id}/")
        console.page.get_by_role("button", name="Continue to Fake CRM").click()
        console.page.wait_for_load_state()
        assert "/oauth/callback/" in console.page.url
        assert console.page.get_by_role("heading").first.is_visible()
        console.shoot_checked("connection-oauth-refused", folder=DOCUMENTED_SCREENSHOTS)
    with context(org_id=acme.id, customer_id=customer.id, role=ORGANIZATION):
        assert not Connection.objects.filter(connector_id=connector.id).exists()
