"""Settings → Customers and the customer page: permissions, 404s, forms, states, export."""

from __future__ import annotations

import json
import uuid
from contextlib import ExitStack

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from audit.models import AuditLogEntry
from customers.models import Customer, CustomerStatus
from dataplane import services as dataplane
from roles import catalog
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer, make_customer_data
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

CUSTOMER_PAGES = [
    "",
    "connections/",
    "workflows/",
    "executions/",
    "configuration/",
    "limits/",
    "residency/",
    "edit/",
    "delete/",
    "export.json",
]


def _customer(world: World, **filters) -> Customer:
    with context(org_id=world.org.id, role=ORGANIZATION):
        return Customer.objects.get(**filters)


# --- list, search, filters ----------------------------------------------------------------------


def test_list_shows_full_id_and_connection_count(shared_world: World) -> None:
    make_customer_data(shared_world.org, shared_world.customer)
    response = shared_world.client(catalog.VIEWER).get(shared_world.settings_url("customers/"))
    assert response.status_code == 200
    body = response.content.decode()
    assert str(shared_world.customer.id) in body
    assert str(shared_world.other_customer.id) not in body
    assert f'data-copy="{shared_world.customer.id}"' in body
    assert response.context["rows"] == [
        (shared_world.second_customer, 0),
        (shared_world.customer, 1),
    ]


@pytest.mark.parametrize("term", ["northw", "NW-1", "full-id"])
def test_search_finds_by_name_external_id_and_full_id(shared_world: World, term: str) -> None:
    make_customer(shared_world.org, "Contoso")
    term = str(shared_world.customer.id) if term == "full-id" else term
    response = shared_world.client(catalog.OWNER).get(
        shared_world.settings_url("customers/"), {"q": term}
    )
    assert [c for c, _ in response.context["rows"]] == [shared_world.customer]


def test_status_and_region_filters(shared_world: World) -> None:
    apac = make_customer(
        shared_world.org, "Initech", region="apac", status=CustomerStatus.PENDING_ACTIVATION
    )
    client = shared_world.client(catalog.OWNER)
    by_region = client.get(shared_world.settings_url("customers/"), {"region": "apac"})
    assert [c for c, _ in by_region.context["rows"]] == [apac]
    by_status = client.get(
        shared_world.settings_url("customers/"), {"status": "pending_activation"}
    )
    assert [c for c, _ in by_status.context["rows"]] == [apac]
    empty = client.get(shared_world.settings_url("customers/"), {"status": "suspended"})
    assert b"No customer matches these filters" in empty.content


def test_list_hides_deleting_customers(shared_world: World) -> None:
    gone = make_customer(shared_world.org, "Going away")
    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        Customer.objects.filter(id=gone.id).update(status=CustomerStatus.DELETING)
    response = shared_world.client(catalog.OWNER).get(shared_world.settings_url("customers/"))
    assert b"Going away" not in response.content
    assert (
        shared_world.client(catalog.OWNER).get(shared_world.customer_url(gone)).status_code == 404
    )


def _count_queries(client, url: str) -> int:
    # Measured after a first request, so that each measurement starts from the same connection
    # state (what a previous query in this test's transaction left behind costs one write).
    assert client.get(url).status_code == 200
    with ExitStack() as stack:
        captured = [
            stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in connections
        ]
        assert client.get(url).status_code == 200
    return sum(len(c.captured_queries) for c in captured)


def test_list_and_search_run_a_constant_number_of_queries(shared_world: World) -> None:
    make_customer(shared_world.org, "Customer US", region="us")
    make_customer(shared_world.org, "Customer APAC", region="apac")
    make_customer(shared_world.org, "Customer EU", region="eu")
    client = shared_world.client(catalog.OWNER)
    small = _count_queries(client, shared_world.settings_url("customers/"))
    small_search = _count_queries(client, shared_world.settings_url("customers/?q=Cust"))
    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        Customer.objects.bulk_create(
            Customer(
                org=shared_world.org,
                name=f"Customer {n:04}",
                slug=f"customer-{n:04}",
                region=("us", "eu", "apac")[n % 3],
            )
            for n in range(300)
        )
    assert _count_queries(client, shared_world.settings_url("customers/")) == small
    assert _count_queries(client, shared_world.settings_url("customers/?q=Cust")) == small_search
    assert _count_queries(client, shared_world.settings_url("customers/?page=5")) == small


# --- create ---------------------------------------------------------------------------------


def test_operator_creates_customer_and_sees_its_id(shared_world: World) -> None:
    client = shared_world.client(catalog.OPERATOR)
    assert client.get(shared_world.settings_url("customers/new/")).status_code == 200
    response = client.post(
        shared_world.settings_url("customers/new/"),
        {"name": "Umbrella Asia", "external_id": "ub-3", "region": "apac", "activate": "on"},
    )
    created = _customer(shared_world, external_id="ub-3")
    assert response.status_code == 302
    assert response.url == shared_world.customer_url(created)
    assert (created.name, created.slug, created.region, created.status) == (
        "Umbrella Asia",
        "umbrella-asia",
        "apac",
        CustomerStatus.ACTIVE,
    )
    page = client.get(response.url)
    assert str(created.id) in page.content.decode()
    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        assert AuditLogEntry.objects.filter(
            action="customer.create", target_id=str(created.id)
        ).exists()


def test_create_defaults_to_the_organizations_region_and_can_wait_for_activation(
    shared_world: World,
) -> None:
    client = shared_world.client(catalog.OWNER)
    form = client.get(shared_world.settings_url("customers/new/")).context["form"]
    assert form["region"].value() == shared_world.org.default_region
    client.post(shared_world.settings_url("customers/new/"), {"name": "Later Ltd", "region": "us"})
    assert _customer(shared_world, name="Later Ltd").status == CustomerStatus.PENDING_ACTIVATION


def test_viewer_cannot_create_customer(shared_world: World) -> None:
    client = shared_world.client(catalog.VIEWER)
    listing = client.get(shared_world.settings_url("customers/"))
    assert b"Create Customer" not in listing.content
    assert client.get(shared_world.settings_url("customers/new/")).status_code == 403
    response = client.post(
        shared_world.settings_url("customers/new/"), {"name": "Forged", "region": "us"}
    )
    assert response.status_code == 403
    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        assert not Customer.objects.filter(name="Forged").exists()


def test_owner_sees_create_customer_button(shared_world: World) -> None:
    assert (
        b"Create Customer"
        in shared_world.client(catalog.OWNER).get(shared_world.settings_url("customers/")).content
    )


def test_duplicate_external_id_is_a_form_error_but_fine_in_another_org(shared_world: World) -> None:
    client = shared_world.client(catalog.OWNER)
    response = client.post(
        shared_world.settings_url("customers/new/"),
        {"name": "Copy", "external_id": "nw-1", "region": "us"},
    )
    assert response.status_code == 400
    assert (
        "Another customer already has this external ID."
        in response.context["form"].errors["external_id"]
    )
    assert response.context["form"]["name"].value() == "Copy"
    # shared_world.other_customer already uses nw-1 in Globex: Acme's own customer got it too.
    assert shared_world.customer.external_id == shared_world.other_customer.external_id == "nw-1"


def test_blank_name_is_an_inline_error(shared_world: World) -> None:
    response = shared_world.client(catalog.OWNER).post(
        shared_world.settings_url("customers/new/"), {"name": " ", "region": "us"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["name"]


def test_customer_cap_names_the_limit(shared_world: World) -> None:
    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        room = 25 - Customer.objects.count()  # the world's own customers count too
        Customer.objects.bulk_create(
            Customer(org=shared_world.org, name=f"C{n}", slug=f"c{n}") for n in range(room)
        )
    response = shared_world.client(catalog.OWNER).post(
        shared_world.settings_url("customers/new/"), {"name": "One too many", "region": "us"}
    )
    assert response.status_code == 400
    assert (
        "Customers per organization limit (25) reached on the Free plan."
        in response.content.decode()
    )


# --- customer page ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [*CUSTOMER_PAGES, "status/"])
def test_outsider_gets_404_on_every_customer_url(shared_world: World, suffix: str) -> None:
    make_customer_data(shared_world.org, shared_world.customer)
    outsider = shared_world.outsider_client()
    assert outsider.get(shared_world.customer_url(suffix=suffix)).status_code == 404
    assert outsider.post(shared_world.customer_url(suffix=suffix)).status_code == 404


@pytest.mark.parametrize("suffix", CUSTOMER_PAGES)
def test_another_orgs_customer_under_own_slug_is_404(shared_world: World, suffix: str) -> None:
    make_customer_data(shared_world.other_org, shared_world.other_customer)
    url = shared_world.customer_url(shared_world.other_customer, suffix)
    assert shared_world.client(catalog.OWNER).get(url).status_code == 404


def test_unknown_customer_id_is_404(shared_world: World) -> None:
    client = shared_world.client(catalog.OWNER)
    assert client.get(f"/o/{shared_world.org.slug}/customers/{uuid.uuid4()}/").status_code == 404
    assert client.get(shared_world.customer_url(suffix="nonsense/")).status_code == 404


def test_tabs_show_the_customers_data_and_mask_secrets(shared_world: World) -> None:
    make_customer_data(shared_world.org, shared_world.customer)
    with context(
        org_id=shared_world.org.id, customer_id=shared_world.customer.id, role=ORGANIZATION
    ):
        dataplane.configuration_set_unchecked(
            key="api_secret", value="sk_live_do_not_show", is_secret=True
        )
    client = shared_world.client(catalog.OWNER)
    for tab in ("connections", "workflows", "executions", "configuration", "limits", "residency"):
        assert client.get(shared_world.customer_url(suffix=f"{tab}/")).status_code == 200, tab
    configuration = client.get(shared_world.customer_url(suffix="configuration/")).content.decode()
    assert "api_secret" in configuration and "sk_live_do_not_show" not in configuration
    residency = client.get(shared_world.customer_url(suffix="residency/")).content.decode()
    assert "Data stored in the European Union" in residency


def test_executions_filter_by_status_and_time(shared_world: World) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from dataplane.models import ExecutionLog

    make_customer_data(
        shared_world.org, shared_world.customer
    )  # a completed execution, filtered out
    with context(
        org_id=shared_world.org.id, customer_id=shared_world.customer.id, role=ORGANIZATION
    ):
        failed = dataplane.execution_log_create_unchecked(status="failed", message="boom")
        old = dataplane.execution_log_create_unchecked(status="failed", message="ancient")
        ExecutionLog.objects.filter(id=old.id).update(
            created_at=timezone.now() - timedelta(days=40)
        )
    client = shared_world.client(catalog.OWNER)
    recent = client.get(shared_world.customer_url(suffix="executions/"), {"status": "failed"})
    assert list(recent.context["page"].object_list) == [failed]
    everything = client.get(
        shared_world.customer_url(suffix="executions/"), {"status": "failed", "period": "all"}
    )
    assert list(everything.context["page"].object_list) == [failed, old]


def test_viewer_has_no_limits_tab(shared_world: World) -> None:
    client = shared_world.client(catalog.VIEWER)
    page = client.get(shared_world.customer_url())
    assert "limits" not in [tab for tab, _ in page.context["tabs"]]
    assert client.get(shared_world.customer_url(suffix="limits/")).status_code == 403


def test_admin_sees_limits_tab(shared_world: World) -> None:
    response = shared_world.client(catalog.ADMIN).get(shared_world.customer_url(suffix="limits/"))
    assert response.status_code == 200
    assert "Connections per customer" in response.content.decode()


def test_end_user_sees_only_their_customers_tabs(shared_world: World) -> None:
    client = shared_world.client(catalog.END_USER)
    page = client.get(shared_world.customer_url())
    assert page.status_code == 200
    assert [t for t, _ in page.context["tabs"]] == ["connections", "executions", "configuration"]
    assert client.get(shared_world.customer_url(suffix="export.json")).status_code == 403
    assert client.get(shared_world.customer_url(suffix="edit/")).status_code == 403


# --- edit, activate, suspend --------------------------------------------------------------------


def test_operator_edits_customer(shared_world: World) -> None:
    response = shared_world.client(catalog.OPERATOR).post(
        shared_world.customer_url(suffix="edit/"),
        {"name": "Northwind Traders", "external_id": "nw-9"},
    )
    assert response.status_code == 302
    customer = _customer(shared_world, id=shared_world.customer.id)
    assert (customer.name, customer.slug, customer.external_id) == (
        "Northwind Traders",
        "northwind-traders",
        "nw-9",
    )


def test_viewer_cannot_edit_customer(shared_world: World) -> None:
    client = shared_world.client(catalog.VIEWER)
    assert client.get(shared_world.customer_url(suffix="edit/")).status_code == 403
    assert client.post(shared_world.customer_url(suffix="edit/"), {"name": "X"}).status_code == 403
    assert _customer(shared_world, id=shared_world.customer.id).name == "Northwind"


def test_edit_refuses_an_external_id_taken_in_the_org(shared_world: World) -> None:
    make_customer(shared_world.org, "Contoso", external_id="ct-1")
    response = shared_world.client(catalog.OWNER).post(
        shared_world.customer_url(suffix="edit/"), {"name": "Northwind", "external_id": "ct-1"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["external_id"]


def test_operator_suspends_and_activates(shared_world: World) -> None:
    client = shared_world.client(catalog.OPERATOR)
    client.post(shared_world.customer_url(suffix="status/"), {"status": "suspended"})
    assert _customer(shared_world, id=shared_world.customer.id).status == CustomerStatus.SUSPENDED
    page = client.get(shared_world.customer_url()).content.decode()
    assert "This customer is suspended" in page
    client.post(shared_world.customer_url(suffix="status/"), {"status": "active"})
    assert _customer(shared_world, id=shared_world.customer.id).status == CustomerStatus.ACTIVE
    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        actions = set(AuditLogEntry.objects.values_list("action", flat=True))
    assert {"customer.suspend", "customer.activate"} <= actions


def test_viewer_cannot_suspend(shared_world: World) -> None:
    response = shared_world.client(catalog.VIEWER).post(
        shared_world.customer_url(suffix="status/"), {"status": "suspended"}
    )
    assert response.status_code == 403
    assert _customer(shared_world, id=shared_world.customer.id).status == CustomerStatus.ACTIVE


def test_pending_customer_is_activated(shared_world: World) -> None:
    pending = make_customer(shared_world.org, "Pending", status=CustomerStatus.PENDING_ACTIVATION)
    client = shared_world.client(catalog.OWNER)
    assert "pending activation" in client.get(shared_world.customer_url(pending)).content.decode()
    client.post(shared_world.customer_url(pending, "status/"), {"status": "active"})
    assert _customer(shared_world, id=pending.id).status == CustomerStatus.ACTIVE


# --- delete (request side; the task is in test_deletion.py) -------------------------------------


def test_delete_page_says_what_will_be_removed(shared_world: World) -> None:
    make_customer_data(shared_world.org, shared_world.customer)
    page = (
        shared_world.client(catalog.ADMIN)
        .get(shared_world.customer_url(suffix="delete/"))
        .content.decode()
    )
    assert "1 connection" in page and "1 workflow" in page and "European Union" in page


def test_delete_needs_the_typed_name(shared_world: World) -> None:
    response = shared_world.client(catalog.ADMIN).post(
        shared_world.customer_url(suffix="delete/"), {"confirmation": "nope"}
    )
    assert response.status_code == 400
    assert _customer(shared_world, id=shared_world.customer.id).status == CustomerStatus.ACTIVE


def test_operator_cannot_delete_customer(shared_world: World) -> None:
    client = shared_world.client(catalog.OPERATOR)
    assert client.get(shared_world.customer_url(suffix="delete/")).status_code == 403
    response = client.post(
        shared_world.customer_url(suffix="delete/"), {"confirmation": "Northwind"}
    )
    assert response.status_code == 403
    assert _customer(shared_world, id=shared_world.customer.id).status == CustomerStatus.ACTIVE


# --- export ---------------------------------------------------------------------------------


def test_viewer_exports_customer_without_secrets(shared_world: World) -> None:
    customer_data = make_customer_data(shared_world.org, shared_world.customer)
    make_customer_data(shared_world.other_org, shared_world.other_customer)
    with context(
        org_id=shared_world.org.id, customer_id=shared_world.customer.id, role=ORGANIZATION
    ):
        dataplane.configuration_set_unchecked(
            key="api_secret", value="sk_live_do_not_show", is_secret=True
        )
        from dataplane.models import Connection

        Connection.objects.update(credentials="encrypted-credential-blob")
    response = shared_world.client(catalog.VIEWER).get(
        shared_world.customer_url(suffix="export.json")
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    body = response.content.decode()
    data = json.loads(body)
    assert data["customer"]["id"] == str(shared_world.customer.id)
    assert len(data["connections"]) == len(data["workflows"]) == 1
    assert data["format"] == "fastn-customer-export/2"
    assert data["workflows"][0]["definition_id"] == str(customer_data.workflow.definition_id)
    assert data["workflows"][0]["name"].startswith("Workflow ")
    assert "sk_live_do_not_show" not in body and "encrypted-credential-blob" not in body
    assert {"key": "api_secret", "value": "********"}.items() <= next(
        c for c in data["configuration"] if c["key"] == "api_secret"
    ).items()
    assert str(shared_world.other_customer.id) not in body
    # The export itself is audited (SPEC §14), under the customer it exported.
    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        [entry] = AuditLogEntry.objects.filter(action="customer.export")
    assert entry.actor_id == shared_world.user(catalog.VIEWER).id
    assert entry.subject_customer_id == shared_world.customer.id


def test_suspended_organization_reads_but_cannot_create_customers(shared_world: World) -> None:
    from customers.models import Organization, OrganizationStatus

    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        Organization.objects.filter(id=shared_world.org.id).update(
            status=OrganizationStatus.SUSPENDED
        )
    client = shared_world.client(catalog.OWNER)
    assert client.get(shared_world.settings_url("customers/")).status_code == 200
    response = client.post(
        shared_world.settings_url("customers/new/"), {"name": "New", "region": "us"}
    )
    assert response.status_code == 403
    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        assert not Customer.objects.filter(name="New").exists()
