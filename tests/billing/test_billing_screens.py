"""Settings → Billing: usage bars and warnings, Customize Customer Limits, upgrade requests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.utils import timezone

from api.models import UsageRecord
from audit.models import AuditLogEntry
from billing.models import UpgradeRequest
from billing.selectors import effective_limit
from customers.models import Customer, CustomerLimitOverride, Organization, Plan
from roles import catalog
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.customers.mailbox import read_mailbox
from tests.factories import make_customer_data
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _limits_url(world: World, customer: Customer | None = None) -> str:
    return world.url(f"settings/billing/limits/{(customer or world.customer).id}/")


def _override(world: World, key: str) -> int | None:
    with context(org_id=world.org.id, role=ORGANIZATION):
        return (
            CustomerLimitOverride.objects.filter(customer_id=world.customer.id, limit_key=key)
            .values_list("value", flat=True)
            .first()
        )


def _usage(world: World, kind: str, count: int, customer: Customer | None = None) -> None:
    with context(org_id=world.org.id, role=ORGANIZATION):
        UsageRecord.objects.create(
            org=world.org,
            kind=kind,
            count=count,
            day=timezone.now().date(),
            subject_customer_id=customer.id if customer else None,
        )


# --- overview -------------------------------------------------------------------------------


def test_admin_sees_plan_usage_bars_and_usage_by_customer(shared_world: World) -> None:
    make_customer_data(shared_world.org, shared_world.customer)
    _usage(shared_world, "event", 120, shared_world.customer)
    _usage(shared_world, "api_call", 7)
    _usage(shared_world, "event", 999, None)
    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        UsageRecord.objects.create(
            org=shared_world.org,
            kind="event",
            count=5000,
            day=date(2020, 1, 1),
            subject_customer_id=shared_world.customer.id,
        )
    response = shared_world.client(catalog.ADMIN).get(shared_world.settings_url("billing/"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Plan: Free" in body
    usage = {u.key: u for u in response.context["org_usage"]}
    assert (usage["customers_per_org"].used, usage["customers_per_org"].limit) == (2, 25)
    assert usage["api_calls_per_day"].used == 7
    assert usage["events_per_day"].used == 999
    [row] = [row for row in response.context["rows"] if row.customer == shared_world.customer]
    events = next(u for u in row.usages if u.key == "events_per_day")
    assert (events.used, events.limit) == (120, 500)
    connections = next(u for u in row.usages if u.key == "connections_per_customer")
    assert connections.used == 1
    assert "Starter" in body and "Enterprise" in body


def test_warnings_at_80_and_100_percent(shared_world: World) -> None:
    _usage(shared_world, "event", 400)  # 80 % of 500
    _usage(shared_world, "api_call", 1000)  # 100 % of 1,000
    response = shared_world.client(catalog.OWNER).get(shared_world.settings_url("billing/"))
    levels = {u.key: u.level for u in response.context["warnings"]}
    assert levels == {"events_per_day": "warning", "api_calls_per_day": "full"}
    body = response.content.decode()
    assert "(80%)" in body and "the limit is reached" in body


def test_no_warning_below_80_percent(shared_world: World) -> None:
    _usage(shared_world, "event", 399)
    response = shared_world.client(catalog.OWNER).get(shared_world.settings_url("billing/"))
    assert response.context["warnings"] == []


def test_viewer_cannot_read_billing(shared_world: World) -> None:
    client = shared_world.client(catalog.VIEWER)
    assert client.get(shared_world.settings_url("billing/")).status_code == 403
    assert b"settings/billing/" not in client.get(shared_world.settings_url("customers/")).content


def test_outsider_gets_404_on_billing(shared_world: World) -> None:
    client = shared_world.outsider_client()
    for path in (
        "settings/billing/",
        "settings/billing/limits/",
        f"settings/billing/limits/{shared_world.customer.id}/",
        "settings/billing/upgrade/",
    ):
        assert client.get(shared_world.url(path)).status_code == 404, path
        assert client.post(shared_world.url(path)).status_code == 404, path


def test_another_orgs_customer_limits_are_404(shared_world: World) -> None:
    url = shared_world.url(f"settings/billing/limits/{shared_world.other_customer.id}/")
    assert shared_world.client(catalog.OWNER).get(url).status_code == 404


# --- Customize Customer Limits --------------------------------------------------------------


def test_admin_overrides_a_limit_and_the_limits_tab_shows_it(shared_world: World) -> None:
    client = shared_world.client(catalog.ADMIN)
    index = client.get(shared_world.settings_url("billing/limits/"))
    assert index.status_code == 200 and b"Northwind" in index.content
    response = client.post(
        _limits_url(shared_world), {"events_per_day": "2000", "connections_per_customer": "3"}
    )
    assert response.status_code == 302
    assert _override(shared_world, "events_per_day") == 2000
    assert _override(shared_world, "connections_per_customer") == 3
    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        org = Organization.objects.get(id=shared_world.org.id)
        limit = effective_limit(
            organization=org, key="events_per_day", customer=shared_world.customer
        )
        entries = AuditLogEntry.objects.filter(action="customer_limit.override")
        assert entries.count() == 2
    assert (limit.value, limit.source, limit.plan_value) == (2000, "override", 500)
    tab = client.get(shared_world.customer_url(suffix="limits/"))
    rows = {limit.key: limit for limit, _ in tab.context["limits"]}
    assert (rows["events_per_day"].value, rows["events_per_day"].source) == (2000, "override")
    assert (rows["api_calls_per_day"].value, rows["api_calls_per_day"].source) == (1000, "plan")


def test_reset_to_plan(shared_world: World) -> None:
    client = shared_world.client(catalog.ADMIN)
    client.post(_limits_url(shared_world), {"events_per_day": "2000"})
    response = client.post(_limits_url(shared_world), {"reset": "events_per_day"})
    assert response.status_code == 302
    assert _override(shared_world, "events_per_day") is None
    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        assert AuditLogEntry.objects.filter(action="customer_limit.reset").exists()


def test_blank_field_returns_a_limit_to_the_plan(shared_world: World) -> None:
    client = shared_world.client(catalog.ADMIN)
    client.post(_limits_url(shared_world), {"events_per_day": "50"})
    assert _override(shared_world, "events_per_day") == 50  # lowering is allowed too
    client.post(_limits_url(shared_world), {"events_per_day": ""})
    assert _override(shared_world, "events_per_day") is None


@pytest.mark.parametrize("value", ["-5", "0", "abc", "10000001", "1.5"])
def test_bad_override_values_are_form_errors(shared_world: World, value: str) -> None:
    response = shared_world.client(catalog.ADMIN).post(
        _limits_url(shared_world), {"events_per_day": value}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["events_per_day"]
    assert response.context["form"]["events_per_day"].value() == value
    assert _override(shared_world, "events_per_day") is None


def test_override_may_reach_ten_times_enterprise(shared_world: World) -> None:
    shared_world.client(catalog.ADMIN).post(
        _limits_url(shared_world), {"events_per_day": "10000000"}
    )
    assert _override(shared_world, "events_per_day") == 10_000_000


def test_operator_cannot_customize_limits(shared_world: World) -> None:
    client = shared_world.client(catalog.OPERATOR)
    assert client.get(shared_world.settings_url("billing/limits/")).status_code == 403
    assert client.get(_limits_url(shared_world)).status_code == 403
    assert client.post(_limits_url(shared_world), {"events_per_day": "2000"}).status_code == 403
    assert _override(shared_world, "events_per_day") is None


def test_end_user_cannot_customize_their_own_customers_limits(shared_world: World) -> None:
    response = shared_world.client(catalog.END_USER).post(
        _limits_url(shared_world), {"events_per_day": "2000"}
    )
    assert response.status_code == 403
    assert _override(shared_world, "events_per_day") is None


# --- plan upgrade requests ------------------------------------------------------------------


@pytest.fixture
def mailbox(tmp_path: Path, settings) -> Path:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(tmp_path)},
        }
    }
    return tmp_path


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_owner_requests_an_upgrade_and_staff_are_emailed(world: World, mailbox: Path) -> None:
    from accounts.models import User

    User.objects.create_user(email="staff@fastn.test", password="x" * 12, is_staff=True)
    growth = Plan.objects.get(code="growth")
    response = world.client(catalog.OWNER).post(
        world.settings_url("billing/upgrade/"), {"plan": str(growth.id), "message": "Q3 launch"}
    )
    assert response.status_code == 302
    with context(org_id=world.org.id, role=ORGANIZATION):
        request = UpgradeRequest.objects.get()
        assert AuditLogEntry.objects.filter(action="billing.upgrade_request").exists()
    assert (request.requested_plan, request.current_plan.code, request.message) == (
        growth,
        "free",
        "Q3 launch",
    )
    mail = read_mailbox(mailbox)
    assert "staff@fastn.test" in mail and "Free to Growth" in mail and "Q3 launch" in mail


def test_upgrade_to_the_current_plan_is_a_form_error(shared_world: World) -> None:
    free = Plan.objects.get(code="free")
    response = shared_world.client(catalog.OWNER).post(
        shared_world.settings_url("billing/upgrade/"), {"plan": str(free.id)}
    )
    assert response.status_code == 400
    assert response.context["upgrade_form"].errors["plan"]


def test_viewer_cannot_request_an_upgrade(shared_world: World) -> None:
    growth = Plan.objects.get(code="growth")
    response = shared_world.client(catalog.VIEWER).post(
        shared_world.settings_url("billing/upgrade/"), {"plan": str(growth.id)}
    )
    assert response.status_code == 403
    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        assert not UpgradeRequest.objects.exists()
