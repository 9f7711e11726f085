"""Browser walk-through of the build screens, a customer's connections and workflows, and the
widget flow a connect link opens; screenshots at 1280 and 375 px (see tests/browser/fixtures.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dataplane.models import Connection
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    in_customer,
    make_configuration,
    make_connection,
    make_connector,
    make_definition,
    make_endpoint_item,
    make_workflow,
)
from tests.dataplane.targets import running_target
from tests.factories import PASSWORD, make_customer, make_org
from tests.widget.links import issue_token

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


def test_build_and_customer_pages_render_at_both_widths(console, settings) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    org = make_org("Acme")
    customer = make_customer(org, "Initech", region="eu")
    with running_target() as target:
        crm = make_connector(org, name="Acme CRM", base_url=target.url("/auth"))
        make_connector(
            org,
            name="Ledger",
            auth_method="api_key",
            credential_fields=["api_key", "account_id"],
            deploy_prod=False,
        )
        agent = make_endpoint_item(org, "agents", endpoint_url=target.url("/echo"))
        connection = make_connection(org, customer, crm, token="good-token")
        workflow = make_workflow(
            org,
            customer,
            [
                {"name": "read", "url": target.url("/auth"), "connection": str(connection.id)},
            ],
        )
        make_configuration(org, customer, "sync_interval", "15", editable=True)
        console.login(org.owner.email, PASSWORD)
        base = f"/o/{org.slug}/"
        cust = f"{base}customers/{customer.id}/"

        console.goto(base + "build/connectors/")
        expect(console.page.get_by_role("link", name="Acme CRM")).to_be_visible()
        console.shoot("build-connectors")
        for width in (1280, 375):
            console.page.set_viewport_size({"width": width, "height": 900})
            console.assert_no_horizontal_scroll()

        console.goto(base + f"build/connectors/{crm.id}/")
        console.shoot("build-connector-detail")

        console.goto(base + f"build/agents/{agent.id}/test/")
        console.page.get_by_label("Customer").select_option(str(customer.id))
        console.page.get_by_label("Input (JSON)").fill('{"text": "hello"}')
        console.page.get_by_role("button", name="Run").click()
        expect(console.page.get_by_text("HTTP 200")).to_be_visible()
        console.shoot("build-agent-test-panel")

        console.goto(cust + f"connections/{connection.id}/")
        console.page.get_by_role("button", name="Test connection").click()
        expect(console.page.locator(".messages").get_by_text("credentials work")).to_be_visible()
        console.shoot("customer-connection")

        console.goto(base + "build/workflows/new/")
        console.page.get_by_label("Name").fill("Broken")
        console.page.get_by_label("Definition (JSON)").fill('{"steps": [\n  {"name": "a",}\n]}')
        console.page.get_by_role("button", name="Create workflow").click()
        expect(console.page.get_by_text(re.compile(r"Line 2, column \d+"))).to_be_visible()
        console.shoot("build-workflow-invalid-json")

        console.goto(base + f"build/workflows/{workflow.definition_id}/")
        expect(console.page.get_by_role("button", name="Deploy to prod").first).to_be_visible()
        console.shoot("build-workflow-detail")

        console.goto(cust + f"workflows/{workflow.id}/")
        expect(console.page.get_by_text("Connections").first).to_be_visible()
        console.shoot("customer-workflow")
        console.page.get_by_role("link", name="Choose connections").click()
        # The step's connection was chosen when the workflow was added: let a run find it.
        console.page.get_by_label("Connection for Acme CRM").select_option("")
        console.page.get_by_role("button", name="Save connections").click()
        expect(console.page.locator(".messages").get_by_text("Connections of")).to_be_visible()

        make_definition(
            org, {"steps": [{"name": "b", "url": "https://b.example/"}]}, "Nightly export"
        )
        console.goto(cust + "workflows/new/")
        console.shoot("customer-workflow-add")
        console.page.get_by_role("button", name="Add Nightly export").click()
        expect(
            console.page.locator(".messages").get_by_text("Nightly export added")
        ).to_be_visible()
        for width in (1280, 375):
            console.page.set_viewport_size({"width": width, "height": 900})
            console.assert_no_horizontal_scroll()
        console.page.set_viewport_size({"width": 1280, "height": 900})

        console.goto(cust + "connections/share/")
        console.page.get_by_role("button", name="Issue connect link").click()
        link = console.page.get_by_label("Connect link").input_value()
        assert "/widget/" in link and "token=" in link
        console.shoot("customer-share-link")


def test_widget_flow_from_a_connect_link(console, settings) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    org = make_org("Acme")
    customer = make_customer(org, "Initech", region="eu")
    other = make_customer(org, "Umbrella", region="us")
    with running_target() as target:
        crm = make_connector(org, name="Acme CRM", base_url=target.url("/auth"))
        make_connection(org, other, crm, token="umbrella-secret-token")
        make_configuration(org, customer, "sync_interval", "15", editable=True)
        token = issue_token(org, customer)
        page = console.page
        console.goto(f"/widget/{org.slug}/{customer.id}/?token={token}")
        expect(page.get_by_text("No connections yet")).to_be_visible()
        assert page.get_by_text("Umbrella").count() == 0
        console.shoot("widget-empty")

        page.get_by_role("link", name="Connect").first.click()
        page.get_by_role("button", name="Connect").click()
        expect(page.get_by_text("This field is required")).to_be_visible()
        console.shoot("widget-connect-errors")
        page.get_by_label("Access token").fill("good-token")
        page.get_by_role("button", name="Connect").click()
        expect(page.get_by_text("Connected to Acme CRM")).to_be_visible()
        page.get_by_role("button", name="Test").click()
        expect(page.locator(".messages").get_by_text("credentials work")).to_be_visible()
        console.shoot("widget-connected")

        page.get_by_role("link", name="Edit").click()
        page.get_by_label("sync_interval").fill("30")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("sync_interval saved")).to_be_visible()
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            console.assert_no_horizontal_scroll()

        page.get_by_role("button", name="Disconnect").click()
        expect(page.get_by_text("credentials are deleted")).to_be_visible()
        with in_customer(org, customer):
            assert Connection.objects.get().credentials == ""

        console.goto(f"/widget/{org.slug}/{customer.id}/?token={token[:-3]}xyz")
        expect(page.get_by_text("This link is not valid")).to_be_visible()
        console.shoot("widget-invalid-link")
