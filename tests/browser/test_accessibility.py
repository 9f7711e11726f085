"""WCAG 2.2 AA on every screen (SPEC §9): axe-core (``tests/browser/axe.py``) finds no serious or
critical violation at 1280 px and 375 px, light and dark — the console (every page of the URL
map, so a page added later is audited the day it is added), a viewer's and a customer-restricted
member's view, the public pages (login, password reset, signup), the widget and the staff's
signup review in the admin; and the layout's own promises: a skip link, a visible focus, the
current page marked in the navigation, a Menu button at 375 px, stacked table rows with their
labels, customer tabs that scroll instead of wrapping."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from api.models import ApiKey
from build.models import Agent, Connector, Tool, WorkflowDefinition
from customers.demo import REVIEW_APPLICANT
from customers.models import Customer, Organization
from customers.services.email_domain import domain_token
from customers.services.imports import customer_import_create
from dataplane.events import event_drafts, events_record
from dataplane.models import Configuration, Connection, ExecutionLog, ExecutionStatus, Workflow
from roles import catalog
from roles.models import Invitation, JoinRequest, Membership, Role
from roles.selectors import invitation_token
from signup.models import SignupApplication
from tenancy.context import ORGANIZATION, context
from tests.browser.axe import Audit
from tests.browser.fixtures import Console
from tests.conftest import ALL_DATABASES
from tests.widget.links import issue_token
from widget import tokens

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)

ORG_PREFIX = "o/<slug:org_slug>/"
PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
# Console routes that are not pages: form targets (POST only), downloads and JSON.
NOT_PAGES = {
    "customers:general_domain",
    "customers:general_domain_cancel",
    "customers:organization_delete",
    "customers:customer_status",
    "customers:customer_export",
    "customers:customer_import_run",
    "customers:customer_import_status",
    "customers:customer_import_result",
    "billing:upgrade_request",
    "roles:invitation_resend",
    "roles:invitation_revoke",
    "roles:join_request_decline",
    "api:embed_token_revoke",
    "audit:export",
    "residency:status",
    "dataplane:connection_test",
    "dataplane:connection_disconnect",
    "dataplane:workflow_toggle",
    "dataplane:workflow_run",
    "dataplane:execution_replay",
    "dataplane:configuration_delete",
    "events:inbound_secret",
    "dataplane:connection_oauth_callback",  # a redirect target: visited below without a state
}
# Ids the demo data does not hold yet: the pages that need them are left out until it does.
NOT_IN_THE_DEMO = {"endpoint_id", "delivery_id"}
BUILD_DEPLOY = re.compile(r"^build:\w+_deploy$")
CUSTOMER_TABS = ("connections", "workflows", "executions", "configuration", "limits", "residency")


@dataclass(frozen=True)
class Route:
    name: str
    parameters: tuple[str, ...]
    kind: str  # the build kind of a build route, else ""


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            template = prefix + str(pattern.pattern)
            if template.startswith(ORG_PREFIX):
                yield Route(
                    ":".join(filter(None, [namespace, pattern.name])),
                    tuple(PARAMETER.findall(template)),
                    (pattern.default_args or {}).get("kind", ""),
                )


def console_pages() -> list[Route]:
    return [
        route
        for route in _walk(get_resolver().url_patterns)
        if route.name not in NOT_PAGES
        and not BUILD_DEPLOY.match(route.name)
        and not NOT_IN_THE_DEMO.intersection(route.parameters)
    ]


@dataclass
class Demo:
    acme: Organization
    customer: Customer  # Contoso Europe: active, with data
    ids: dict[str, str]
    items: dict[str, str]  # build kind -> an item's id

    def kwargs(self, route: Route) -> Iterator[dict[str, str]]:
        values = {"org_slug": self.acme.slug}
        for parameter in route.parameters:
            if parameter == "item_id":
                values[parameter] = self.items[route.kind]
            elif parameter not in ("org_slug", "tab"):
                values[parameter] = self.ids[parameter]
        if "tab" in route.parameters:
            for tab in CUSTOMER_TABS:
                yield {**values, "tab": tab}
        else:
            yield values


@pytest.fixture
def demo() -> Demo:
    from customers.demo import seed

    seed(log=lambda *args: None)
    with context(user_id=None):
        acme = Organization.objects.get(slug="acme")
    with context(org_id=acme.id, role=ORGANIZATION):
        customer = Customer.objects.get(external_id="ct-eu-7")
        ids = {
            "customer_id": str(customer.id),
            "connector_id": str(Connector.objects.get(slug="slack").id),
            "role_id": str(Role.objects.get(name="Support engineer").id),
            "membership_id": str(Membership.objects.get(role__system_key=catalog.VIEWER).id),
            "join_request_id": str(JoinRequest.objects.get().id),
            "key_id": str(ApiKey.objects.get().id),
            "number": "1",
            "token": domain_token(organization=acme, domain="acme-labs.test"),
            # A previewed import with a row error (the preview is the page with most on it).
            "import_id": str(
                customer_import_create(
                    acting_user=acme.owner,
                    organization=acme,
                    filename="customers.csv",
                    data=b"external_id,name,labels\nimp-1,Initech,env:trial\nimp-2,,my env:x\n",
                ).id
            ),
        }
        items = {
            "connectors": ids["connector_id"],
            "agents": str(Agent.objects.get().id),
            "tools": str(Tool.objects.get().id),
            "workflows": str(WorkflowDefinition.objects.order_by("name").first().id),  # type: ignore[union-attr]
        }
    with context(org_id=acme.id, customer_id=customer.id, role=ORGANIZATION):
        ids["connection_id"] = str(Connection.objects.first().id)  # type: ignore[union-attr]
        ids["workflow_id"] = str(Workflow.objects.first().id)  # type: ignore[union-attr]
        ids["config_id"] = str(Configuration.objects.get(key="sync_interval_minutes").id)
        (event,) = events_record(
            customer=customer, drafts=event_drafts([("order.paid", {"order": "A-1"})])
        )
        ids["event_id"] = str(event.id)
        ids["execution_id"] = str(
            ExecutionLog.objects.filter(status=ExecutionStatus.FAILED).first().id  # type: ignore[union-attr]
        )
        # A failed run of a recorded version in test: its page offers Replay.
        ExecutionLog.objects.filter(id=ids["execution_id"]).update(version=1, environment="test")
    return Demo(acme, customer, ids, items)


def _log_in(console: Console, email: str) -> None:
    console.login(email, settings.DEMO_PASSWORD)


def test_every_console_page_passes_axe_light_and_dark_at_both_widths(
    console: Console, demo: Demo
) -> None:
    from django.urls import reverse

    _log_in(console, "owner@acme.test")
    audit = Audit(console.page)
    for route in console_pages():
        for kwargs in demo.kwargs(route):
            path = reverse(route.name, kwargs=kwargs)
            label = route.name + (f"[{kwargs['tab']}]" if "tab" in kwargs else "")
            audit.visit(label, path)
    audit.visit("executions:failed", "/o/acme/executions/?status=failed")
    audit.visit(
        "executions:filtered-to-nothing",
        "/o/acme/executions/?status=failed&environment=test&period=15m",
    )
    audit.visit(
        "customer-executions:filtered",
        f"/o/acme/customers/{demo.customer.id}/executions/?environment=prod&period=30d",
    )
    audit.visit("customers:empty-search", "/o/acme/settings/customers/?q=nobody-by-this-name")
    audit.visit(
        "dataplane:oauth-callback-without-state",
        f"/o/acme/customers/{demo.customer.id}/connections/oauth/callback/",
        status=400,
    )
    audit.visit(
        "billing:usage-of-one-customer-90-days",
        f"/o/acme/settings/billing/?days=90&customer={demo.customer.id}",
    )
    audit.assert_clean()


def test_viewer_and_restricted_member_views_pass_axe(console: Console, demo: Demo) -> None:
    audit = Audit(console.page)
    _log_in(console, "viewer@acme.test")
    audit.visit("viewer:overview", "/o/acme/")
    audit.visit("viewer:general", "/o/acme/settings/general/")
    audit.visit("viewer:customer", f"/o/acme/customers/{demo.customer.id}/")
    console.context.clear_cookies()
    console.goto("/accounts/login/")
    console.page.get_by_label("Email").fill("enduser@acme.test")
    console.page.get_by_label("Password").fill(settings.DEMO_PASSWORD)
    console.page.get_by_role("button", name="Log in").click()
    console.page.wait_for_load_state()
    audit.check("end-user:landing")
    with context(org_id=demo.acme.id, role=ORGANIZATION):
        northwind = Customer.objects.get(external_id="nw-001")
    audit.visit("end-user:executions", f"/o/acme/customers/{northwind.id}/executions/")
    audit.assert_clean()


def test_public_pages_pass_axe(console: Console, demo: Demo) -> None:
    audit = Audit(console.page)
    page = console.page
    audit.visit("login", "/accounts/login/")
    page.get_by_label("Email").fill("owner@acme.test")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    audit.check("login:error")
    audit.visit("sso:refused", "/sso/callback/", status=400)
    audit.visit("oauth:refused", "/oauth/callback/", status=400)
    audit.visit("password-reset", "/accounts/password/reset/")
    audit.visit("signup", "/signup/")
    page.get_by_role("button", name="Sign up").click()
    audit.check("signup:errors")
    application = SignupApplication.objects.get(email=REVIEW_APPLICANT["email"])
    audit.visit("signup:status", f"/signup/status/{application.status_token}/")
    with context(org_id=demo.acme.id, role=ORGANIZATION):
        invitation = Invitation.objects.get()
    audit.visit("invitation", f"/invitations/{invitation_token(invitation)}/")
    audit.assert_clean()


def test_widget_passes_axe(console: Console, demo: Demo) -> None:
    audit = Audit(console.page)
    token = issue_token(demo.acme, demo.customer, kind=tokens.CONNECT_LINK)
    base = f"/widget/{demo.acme.slug}/{demo.customer.id}/"
    audit.visit("widget:home", f"{base}?token={token}")
    console.page.get_by_role("link", name="Update").first.click()
    audit.check("widget:reconnect")
    console.goto(f"{base}?token={token}")
    console.page.get_by_role("link", name="Edit").first.click()
    audit.check("widget:configuration")
    audit.visit("widget:invalid-link", f"{base}?token={token[:-3]}xyz", status=403)
    audit.assert_clean()


def test_staff_signup_review_in_the_admin_passes_axe(console: Console, demo: Demo) -> None:
    audit = Audit(console.page)
    page = console.page
    audit.visit("admin:login", "/admin/login/")
    page.get_by_label("Email").fill("staff@fastn.test")
    page.get_by_label("Password").fill(settings.DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    audit.check("admin:index")
    application = SignupApplication.objects.get(email=REVIEW_APPLICANT["email"])
    audit.visit("admin:signups", "/admin/signup/signupapplication/?status__exact=manual_review")
    audit.visit("admin:review", f"/admin/signup/signupapplication/{application.id}/change/")
    page.get_by_role("link", name="Reject…").click()
    audit.check("admin:reject")
    audit.assert_clean()


# --- The layout's promises ------------------------------------------------------------------


def test_skip_link_focus_and_current_page_in_the_navigation(console: Console, demo: Demo) -> None:
    page = console.page
    _log_in(console, "owner@acme.test")
    console.goto(f"/o/acme/customers/{demo.customer.id}/workflows/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.evaluate("el => el === document.activeElement")
    assert skip.is_visible()
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    nav = page.get_by_role("navigation", name="Console")
    assert nav.get_by_role("link", name="Customers").get_attribute("aria-current") == "true"
    console.goto("/o/acme/settings/customers/")
    assert nav.get_by_role("link", name="Customers").get_attribute("aria-current") == "page"
    assert nav.locator("[aria-current]").count() == 1
    console.goto("/o/acme/")
    assert nav.get_by_role("link", name="Overview").get_attribute("aria-current") == "page"

    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    console.goto(f"/o/acme/customers/{demo.customer.id}/")
    assert not crumbs.inner_text().strip().endswith("›")


def test_at_375px_the_navigation_folds_tables_stack_and_tabs_scroll(
    console: Console, demo: Demo
) -> None:
    page = console.page
    _log_in(console, "owner@acme.test")
    page.set_viewport_size({"width": 375, "height": 800})
    console.goto("/o/acme/executions/")
    nav = page.get_by_role("navigation", name="Console")
    menu = page.get_by_role("button", name="Menu")
    assert menu.is_visible() and not nav.is_visible()
    assert menu.get_attribute("aria-expanded") == "false"
    menu.click()
    assert nav.is_visible() and menu.get_attribute("aria-expanded") == "true"
    assert nav.get_by_role("link", name="Executions").get_attribute("aria-current") == "page"
    page.keyboard.press("Escape")
    assert not nav.is_visible()
    console.assert_no_horizontal_scroll()

    cell = page.locator("tbody tr").first.locator("td").first
    label = cell.evaluate("el => getComputedStyle(el, '::before').content")
    assert label == '"Time"'
    assert page.locator("thead").first.evaluate("el => el.getBoundingClientRect().height") <= 1

    for path in (
        "/o/acme/settings/api-keys/",
        "/o/acme/settings/billing/",
        "/o/acme/settings/audit/",
    ):
        console.goto(path)
        console.assert_no_horizontal_scroll()

    console.goto(f"/o/acme/customers/{demo.customer.id}/")
    tabs = page.get_by_role("navigation", name="Customer")
    heights = tabs.locator("a").evaluate_all(
        "links => links.map(a => a.getBoundingClientRect().top)"
    )
    assert len(set(heights)) == 1, "the customer tabs wrap into several rows"
    assert tabs.evaluate("el => el.scrollWidth > el.clientWidth")
    console.assert_no_horizontal_scroll()

    for summary in ("Organization", "Account"):
        box = page.locator("summary", has_text=summary).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
