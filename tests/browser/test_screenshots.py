"""The documented screenshots (``docs/screenshots/``): every screen as a person sees it with the
demo data ``make run`` seeds (``customers.demo.seed``) — the console as the Owner and as a
Viewer, the widget from a connect link, the public signup and login pages, and the staff's
signup review in the admin — at 1280 px and 375 px, a few also in the dark scheme (``-dark``).

Ordinary runs write them to the git-ignored ``screenshots/`` and check that no screen scrolls
sideways at 375 px; ``FASTN_UPDATE_SCREENSHOTS=1`` writes the committed set:

    FASTN_UPDATE_SCREENSHOTS=1 make test PYTEST_ARGS=tests/browser/test_screenshots.py
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from customers.demo import REVIEW_APPLICANT
from customers.models import Customer, Organization
from dataplane.models import Connection, ExecutionLog, ExecutionStatus, Workflow
from roles.models import Role
from signup.models import SignupApplication
from tenancy.context import ORGANIZATION, context
from tests.browser.fixtures import DOCUMENTED_SCREENSHOTS, NARROW, Console
from tests.conftest import ALL_DATABASES
from tests.widget.links import issue_token

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


@pytest.fixture
def acme() -> Organization:
    from customers.demo import seed

    seed(log=lambda *args: None)
    with context(user_id=None):
        return Organization.objects.get(slug="acme")


class Shots:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.page = console.page

    def take(
        self, name: str, path: str | None = None, *, dark: bool = False, status: int = 200
    ) -> None:
        """Open ``path`` (or keep the page in hand), check it at 375 px, shoot it."""
        if path is not None:
            response = self.console.goto(path)
            assert response is not None and response.status == status, (path, response.status)
        self.page.set_viewport_size({"width": NARROW, "height": 900})
        self.console.assert_no_horizontal_scroll()
        self.console.shoot(name, folder=DOCUMENTED_SCREENSHOTS)
        if dark:
            self.page.emulate_media(color_scheme="dark")
            self.console.shoot(f"{name}-dark", folder=DOCUMENTED_SCREENSHOTS)
            self.page.emulate_media(color_scheme="light")

    def log_in(self, email: str) -> None:
        self.console.login(email, settings.DEMO_PASSWORD)


def _contoso(acme: Organization) -> dict[str, Any]:
    with context(org_id=acme.id, role=ORGANIZATION):
        customer = Customer.objects.get(external_id="ct-eu-7")
        role = Role.objects.get(system_key="developer")
    with context(org_id=acme.id, customer_id=customer.id, role=ORGANIZATION):
        return {
            "customer": customer,
            "role": role,
            "connection": Connection.objects.order_by("created_at").first(),
            "workflow": Workflow.objects.order_by("created_at", "id").first(),
            "failure": ExecutionLog.objects.filter(status=ExecutionStatus.FAILED).first(),
        }


def test_console_screens_as_the_owner(console: Console, acme: Organization) -> None:
    shots = Shots(console)
    page = console.page
    demo = _contoso(acme)
    customer = demo["customer"]
    base = f"/o/acme/customers/{customer.id}/"
    shots.log_in("owner@acme.test")
    shots.take("overview", "/o/acme/", dark=True)
    page.set_viewport_size({"width": NARROW, "height": 900})
    page.get_by_role("button", name="Menu").click()
    console.shoot("overview-menu", folder=DOCUMENTED_SCREENSHOTS, widths=(NARROW,))
    shots.take("executions", "/o/acme/executions/")
    shots.take("executions-filtered", "/o/acme/executions/?status=failed&period=7d")
    shots.take("customers-list", "/o/acme/settings/customers/", dark=True)
    shots.take("customers-search", "/o/acme/settings/customers/?q=eu&region=eu")
    shots.take("customers-search-empty", "/o/acme/settings/customers/?q=wayne")
    shots.take("customer-create", "/o/acme/settings/customers/new/")
    page.get_by_role("button", name="Create customer").click()
    shots.take("customer-create-errors")
    shots.take("customers-import-upload", "/o/acme/settings/customers/import/")
    for tab in ("connections", "workflows", "executions", "configuration", "limits", "residency"):
        shots.take(f"customer-tab-{tab}", f"{base}{tab}/", dark=tab in ("connections", "limits"))
    shots.take("customer-events", f"{base}events/")
    shots.take("customer-edit", f"{base}edit/")
    shots.take("customer-delete", f"{base}delete/")
    shots.take("customer-connection", f"{base}connections/{demo['connection'].id}/")
    shots.take("customer-workflow", f"{base}workflows/{demo['workflow'].id}/")
    shots.take("customer-workflow-add", f"{base}workflows/new/")
    shots.take("customer-execution-failed", f"{base}executions/{demo['failure'].id}/")
    shots.take("customer-share-link", f"{base}connections/share/")
    shots.take("relocate", f"{base}residency/relocate/")
    shots.take("general", "/o/acme/settings/general/")
    shots.take("general-embedding-origins", "/o/acme/settings/general/embedding/")
    shots.take("people", "/o/acme/settings/people/")
    shots.take("people-invitations", "/o/acme/settings/people/invitations/")
    shots.take("people-join-requests", "/o/acme/settings/people/join-requests/")
    shots.take("roles", "/o/acme/settings/roles/")
    shots.take("role-detail", f"/o/acme/settings/roles/{demo['role'].id}/")
    shots.take("role-create", "/o/acme/settings/roles/new/")
    shots.take("billing", "/o/acme/settings/billing/", dark=True)
    shots.take(
        "billing-usage-customer-90",
        f"/o/acme/settings/billing/?days=90&customer={customer.id}#customer-usage",
        dark=True,
    )
    shots.take("billing-limits-index", "/o/acme/settings/billing/limits/")
    shots.take("billing-limits-customer", f"/o/acme/settings/billing/limits/{customer.id}/")
    shots.take("api-keys", "/o/acme/settings/api-keys/")
    shots.take("sso-settings", "/o/acme/settings/sso/")
    shots.take("audit-log", "/o/acme/settings/audit/")
    shots.take("build-workflows", "/o/acme/build/workflows/")
    page.get_by_role("link", name="Sync new deals").click()
    shots.take("build-workflow-detail")
    shots.take("build-connectors", "/o/acme/build/connectors/")
    page.get_by_role("link", name="Salesforce").click()
    shots.take("build-connector-detail")
    shots.take("build-agents", "/o/acme/build/agents/")
    page.get_by_role("link", name="Ticket summarizer").click()
    page.get_by_role("link", name="Test panel").click()
    shots.take("build-agent-test-panel")


def test_console_screens_as_a_viewer(console: Console, acme: Organization) -> None:
    shots = Shots(console)
    shots.log_in("viewer@acme.test")
    shots.take("overview-viewer", "/o/acme/")
    shots.take("customers-list-viewer", "/o/acme/settings/customers/")
    shots.take("general-viewer", "/o/acme/settings/general/")


def test_widget_screens_from_a_connect_link(console: Console, acme: Organization) -> None:
    shots = Shots(console)
    page = console.page
    customer = _contoso(acme)["customer"]
    token = issue_token(acme, customer)
    base = f"/widget/acme/{customer.id}/"
    shots.take("widget", f"{base}?token={token}", dark=True)
    page.get_by_role("link", name="Connect").first.click()
    page.get_by_role("button", name="Connect").click()
    shots.take("widget-connect-errors")
    shots.take("widget-invalid-link", f"{base}?token={token[:-3]}xyz", status=403)


def test_public_and_staff_review_screens(console: Console, acme: Organization) -> None:
    shots = Shots(console)
    page = console.page
    shots.take("login", "/accounts/login/")
    shots.take("sso-refused", "/sso/callback/", status=400)
    shots.take("signup-form", "/signup/")
    page.get_by_label("Your name").fill("Jo Smith")
    page.get_by_label("Work email").fill("jo@@initrode.example")
    page.get_by_label("Company name").fill("Initrode")
    page.get_by_role("button", name="Sign up").click()
    shots.take("signup-form-errors")
    application = SignupApplication.objects.get(email=REVIEW_APPLICANT["email"])
    shots.take("signup-status", f"/signup/status/{application.status_token}/")

    console.goto("/admin/login/")
    page.get_by_label("Email").fill("staff@fastn.test")
    page.get_by_label("Password").fill(settings.DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    shots.take("admin-signups", "/admin/signup/signupapplication/?status__exact=manual_review")
    shots.take("admin-signup-review", f"/admin/signup/signupapplication/{application.id}/change/")
    page.get_by_role("link", name="Reject…").click()
    shots.take("admin-signup-reject")
