"""The widget embedded in a partner's page (SPEC §11 "Embedding"), in a real browser.

A partner page is served from ANOTHER local origin (``http://127.0.0.1:<port>``, while the live
server is ``http://localhost:<port>``) and mounts the widget with ``/static/widget/embed.js``.
When that origin is allowed (plain http for localhost hosts, accepted while ``DEBUG``), the
widget works inside the frame and the page receives ``fastn:ready`` and
``fastn:connection.created``; from an origin not allowed, chromium refuses the frame
(``frame-ancestors``) and the page receives nothing. The events pages (with the inbound
webhook's signing secret created there) and the origins page are shot at 1280 and 375 px.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from dataplane.events import event_drafts, events_record
from dataplane.models import Connection
from tenancy.context import ORGANIZATION, context
from tests.browser.axe import Audit
from tests.browser.fixtures import Console
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import in_customer, make_connector
from tests.dataplane.oauth_provider import oauth_connector, running_provider
from tests.factories import PASSWORD, make_customer, make_org
from tests.http_servers import local_server, send_bytes, serve_in_background, stop_server
from tests.widget.links import issue_token
from widget import tokens
from widget.embedding import embedding_origins_set

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)

PARTNER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Partner app</title></head>
<body><h1>Partner app</h1><div id="integrations"></div>
<script src="{console}/static/widget/embed.js"></script>
<script>
  window.received = [];
  document.getElementById("integrations").addEventListener("fastn:ready", function () {{
    document.title = "Partner app (widget ready)";
  }});
  Fastn.mount({{
    token: {token},
    container: "#integrations",
    onEvent: function (message) {{ window.received.push(message); }},
  }});
</script></body></html>
"""


@contextmanager
def partner_site(console_url: str, token: str) -> Iterator[str]:
    """A partner's page on its own origin, ``http://127.0.0.1:<free port>``."""
    page = PARTNER_PAGE.format(console=console_url, token=json.dumps(token)).encode()

    class Partner(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            send_bytes(self, 200, page, "text/html; charset=utf-8")

        def log_message(self, *args: Any) -> None:
            pass

    server = local_server(Partner)
    serve_in_background(server)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop_server(server)


def _allow(org: Any, origins: list[str], settings: Any) -> None:
    debug, settings.DEBUG = settings.DEBUG, True  # plain http only for localhost while DEBUG
    try:
        with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
            embedding_origins_set(acting_user=org.owner, organization=org, origins=origins)
    finally:
        settings.DEBUG = debug


def _received(console: Console) -> list[dict[str, Any]]:
    return list(console.page.evaluate("window.received"))


@pytest.fixture
def embedded(console: Console) -> dict[str, Any]:
    org = make_org("Acme")
    customer = make_customer(org, "Northwind", region="eu")
    connector = make_connector(
        org, name="Ledger", auth_method="api_key", credential_fields=["api_key"]
    )
    token = issue_token(org, customer, tokens.EMBED)
    return {"org": org, "customer": customer, "connector": connector, "token": token}


def test_allowed_partner_page_mounts_the_widget_and_hears_its_events(
    console: Console, embedded: dict[str, Any], settings: Any
) -> None:
    page = console.page
    with partner_site(console.base_url, embedded["token"]) as partner:
        _allow(embedded["org"], [partner], settings)
        page.goto(partner)
        frame = page.frame_locator("#integrations iframe")
        assert frame.get_by_text("Northwind").first.is_visible()
        page.wait_for_function("window.received.some(m => m.type === 'fastn:ready')")
        ready = _received(console)[0]
        assert ready == {"type": "fastn:ready", "customer_id": str(embedded["customer"].id)}
        assert page.title() == "Partner app (widget ready)"  # the container's DOM event
        console.shoot("embed-partner-page")

        frame.get_by_role("link", name="Connect").first.click()
        frame.get_by_label("Connection name").fill("Books")
        frame.get_by_label("Api key").fill("ledger-secret-123")
        frame.get_by_role("button", name="Connect").click()
        # (No "Connected" message here: over plain http the messages cookie stays SameSite=Lax,
        # which a frame on another site does not get; over HTTPS it is SameSite=None.)
        frame.get_by_text("Books").wait_for()
        page.wait_for_function("window.received.some(m => m.type === 'fastn:connection.created')")
        created = next(m for m in _received(console) if m["type"] == "fastn:connection.created")
        assert created["connector"] == embedded["connector"].slug

        frame.get_by_role("button", name="Close").click()
        page.wait_for_function("window.received.some(m => m.type === 'fastn:close')")
        assert page.locator("#integrations iframe").count() == 0  # embed.js unmounted it


def test_oauth_connect_inside_the_frame_runs_in_a_popup_and_lands_back_in_the_frame(
    console: Console, embedded: dict[str, Any], settings: Any
) -> None:
    """Providers refuse to be framed: the embedded widget sends an OAuth Connect to a popup,
    and the page the flow ends on there hands the result back to the frame and closes."""
    page = console.page
    org, customer = embedded["org"], embedded["customer"]
    with (
        running_provider() as provider,
        partner_site(console.base_url, embedded["token"]) as partner,
    ):
        connector = oauth_connector(org, provider, settings, name="Fake CRM")
        _allow(org, [partner], settings)
        page.goto(partner)
        frame = page.frame_locator("#integrations iframe")
        frame.get_by_role("listitem").filter(has_text="Fake CRM").get_by_role(
            "link", name="Connect"
        ).click()
        frame.get_by_label("Connection name").fill("My CRM")
        with page.expect_popup() as opened:
            frame.get_by_role("button", name="Continue to Fake CRM").click()
        popup = opened.value
        popup.wait_for_event("close", timeout=15_000)  # it closed itself after the callback
        frame.get_by_text("My CRM").wait_for()
        page.wait_for_function("window.received.some(m => m.type === 'fastn:connection.created')")
        [request] = provider.authorize_requests
        assert request["code_challenge_method"] == "S256"
    with in_customer(org, customer):
        [connection] = Connection.objects.all()
    assert (connection.name, connection.status, connection.connector_id) == (
        "My CRM",
        "active",
        connector.id,
    )


def test_partner_page_from_an_origin_not_allowed_is_refused(
    console: Console, embedded: dict[str, Any], settings: Any
) -> None:
    page = console.page
    refusals: list[str] = []
    page.on("console", lambda message: refusals.append(message.text))
    with partner_site(console.base_url, embedded["token"]) as allowed:
        _allow(embedded["org"], [allowed], settings)
        with partner_site(console.base_url, embedded["token"]) as stranger:
            page.goto(stranger)
            page.wait_for_timeout(1500)
            frame = page.frame_locator("#integrations iframe")
            assert frame.get_by_text("Northwind").count() == 0
            assert _received(console) == []
    assert any("frame-ancestors" in text for text in refusals), refusals


def test_events_and_origins_pages_at_both_widths(console: Console, settings: Any) -> None:
    org = make_org("Acme")
    customer = make_customer(org, "Northwind", region="eu")
    with in_customer(org, customer):
        (event,) = events_record(
            customer=customer,
            drafts=event_drafts([("order.paid", {"order": {"id": "A-1", "total": 12.5}})]),
        )
    console.login(org.owner.email, PASSWORD)
    audit = Audit(console.page)
    events_url = f"/o/{org.slug}/customers/{customer.id}/events/"
    audit.visit("customer-events", events_url)
    assert console.page.get_by_role("link", name="order.paid").is_visible()
    console.shoot("customer-events")
    console.page.get_by_role("button", name="Create signing secret").click()
    secret = console.page.locator("#inbound-secret")
    assert secret.inner_text().startswith("whsec_")
    assert console.page.get_by_role("button", name="Rotate signing secret").is_visible()
    audit.check("customer-events-inbound-secret")
    console.shoot("customer-events-inbound-secret")
    console.page.set_viewport_size({"width": 375, "height": 900})
    overflow = console.page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    console.page.set_viewport_size({"width": 1280, "height": 900})
    assert not overflow, "the inbound webhook section scrolls sideways at 375 px"
    console.page.get_by_role("link", name="order.paid").click()
    assert console.page.get_by_text('"total": 12.5').is_visible()
    audit.check("customer-event")
    console.shoot("customer-event")
    assert str(event.id) in console.page.content()

    origins_url = f"/o/{org.slug}/settings/general/embedding/"
    audit.visit("embedding-origins", origins_url)
    console.page.get_by_label("Allowed embedding origins").fill("http://partner.example")
    console.page.get_by_role("button", name="Save").click()
    assert console.page.get_by_text("http://partner.example: use https").is_visible()
    audit.check("embedding-origins-errors")
    console.shoot("embedding-origins-errors")
    console.page.get_by_label("Allowed embedding origins").fill("https://App.Partner.example/")
    console.page.get_by_role("button", name="Save").click()
    assert console.page.get_by_text("Allowed embedding origins saved (1).").is_visible()
    saved = console.page.get_by_role("textbox", name="Allowed embedding origins")
    assert saved.input_value() == ("https://app.partner.example")
    console.shoot("general-embedding-origins")
    audit.assert_clean()
