"""The Overview (SPEC §9): how the organization's customers are doing — customers by status and
region, usage today and this week against the limits, limit warnings, recent failed executions,
pending join requests and invitations — each card linking to its page, each shown only to those
who may open that page, in a number of queries that does not grow with the customers."""

from __future__ import annotations

import uuid
from contextlib import ExitStack

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import UsageKind, UsageRecord
from billing.services import customer_limit_set
from customers.models import Customer, CustomerStatus, Organization
from dataplane import services as dataplane
from dataplane.models import ExecutionStatus
from roles import catalog
from roles.models import JoinRequest, Role
from roles.services import invitation_create, membership_create, role_create
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.factories import client_for, make_customer, make_customer_data, make_member, make_user
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _usage(
    org: Organization, customer: Customer | None, *, events: int = 0, calls: int = 0
) -> None:
    with context(org_id=org.id, role=ORGANIZATION):
        for kind, count in ((UsageKind.EVENT, events), (UsageKind.API_CALL, calls)):
            if count:
                UsageRecord.objects.create(
                    org=org,
                    subject_customer_id=customer.id if customer else None,
                    day=timezone.now().date(),
                    kind=kind,
                    count=count,
                )


def _fail(org: Organization, customer: Customer, message: str) -> None:
    with context(org_id=org.id, customer_id=customer.id, role=ORGANIZATION):
        dataplane.execution_log_create_unchecked(
            status=ExecutionStatus.FAILED, message=message, duration_ms=120
        )


def _overview(world: World, role_key: str = catalog.OWNER) -> str:
    response = world.client(role_key).get(world.url())
    assert response.status_code == 200
    return response.content.decode()


def test_owner_sees_customers_by_status_and_region_each_linking_to_the_filtered_list(
    shared_world: World,
) -> None:
    make_customer(
        shared_world.org, "Soylent", region="apac", status=CustomerStatus.PENDING_ACTIVATION
    )
    body = _overview(shared_world)
    customers = shared_world.settings_url("customers/")
    assert f'href="{customers}?status=active"' in body
    assert f'href="{customers}?status=pending_activation"' in body
    assert f'href="{customers}?region=apac"' in body
    assert "All 3 customers" in body
    assert "Asia-Pacific" in body and "1</span> pending activation" in body


def test_usage_today_and_this_week_with_the_busiest_customers_against_their_limits(
    shared_world: World,
) -> None:
    _usage(shared_world.org, shared_world.customer, events=420, calls=300)
    _usage(shared_world.org, None, calls=40)
    body = _overview(shared_world)
    assert "Events today" in body and "API calls, last 7 days" in body
    assert "420 / 500" in body  # Northwind's events against the Free plan's 500 a day
    assert f'href="{shared_world.customer_url(suffix="limits/")}"' in body
    assert f'href="{shared_world.settings_url("billing/")}"' in body


def test_limit_warnings_list_every_limit_at_80_percent_fullest_first(shared_world: World) -> None:
    org = shared_world.org
    quiet = make_customer(org, "Quiet Co", region="us")
    _usage(org, shared_world.customer, events=410)  # 82 % of 500
    _usage(org, shared_world.second_customer, calls=1000)  # 100 % of 1,000
    _usage(org, quiet, events=9)
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        customer_limit_set(
            acting_user=org.owner, organization=org, customer=quiet, key="events_per_day", value=10
        )
    crowded = make_customer(org, "Crowded Co", region="eu")
    with context(org_id=org.id, customer_id=crowded.id, role=ORGANIZATION):
        for n in range(4):  # 4 of the Free plan's 5 connections
            dataplane.connection_create_unchecked(connector_id=uuid.uuid4(), name=f"Conn {n}")
    body = _overview(shared_world)
    warnings = body[body.index('id="ov-warnings"') : body.index('id="ov-usage"')]
    assert "Limit reached" in warnings and "82% used" in warnings
    assert "Quiet Co" in warnings and "9 of 10 (override)" in warnings
    assert "Crowded Co" in warnings and "Connections per customer" in warnings
    assert warnings.index("Hooli") < warnings.index("Quiet Co") < warnings.index("Northwind")


def test_no_warning_says_so(shared_world: World) -> None:
    assert "No limit is at 80% or more today." in _overview(shared_world)


def test_recent_failed_executions_link_to_the_execution_and_to_all_failures(
    shared_world: World,
) -> None:
    _fail(shared_world.org, shared_world.customer, "Salesforce answered 401 Unauthorized")
    _fail(shared_world.org, shared_world.second_customer, "Stripe answered 429")
    make_customer_data(shared_world.org, shared_world.customer)  # a completed run: not listed
    body = _overview(shared_world)
    failures = body[body.index('id="ov-failures"') :]
    assert "Salesforce answered 401 Unauthorized" in failures and "Stripe answered 429" in failures
    assert "2 failed in the last 24 hours." in failures
    assert f'href="{shared_world.url("executions/")}?status=failed"' in failures
    assert f'href="{shared_world.customer_url(suffix="executions/")}' in failures


def test_pending_join_requests_and_invitations_link_to_people(shared_world: World) -> None:
    org = shared_world.org
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        JoinRequest.objects.create(org=org, email="sam@shared-acme.test", full_name="Sam Lee")
        invitation_create(
            acting_user=org.owner,
            organization=org,
            email="jordan@shared-acme.test",
            role=Role.objects.get(system_key=catalog.DEVELOPER),
            link_base="http://testserver",
        )
    body = _overview(shared_world)
    assert "1 pending join request" in body and "Sam Lee" in body
    assert "1 pending invitation" in body and "jordan@shared-acme.test" in body
    assert f'href="{shared_world.settings_url("people/join-requests/")}"' in body
    assert f'href="{shared_world.settings_url("people/invitations/")}"' in body


def test_viewer_sees_customers_and_failures_but_not_billing_or_people(
    shared_world: World,
) -> None:
    _fail(shared_world.org, shared_world.customer, "Salesforce answered 401 Unauthorized")
    body = _overview(shared_world, catalog.VIEWER)
    assert 'id="ov-customers"' in body and 'id="ov-failures"' in body
    for card in ("ov-usage", "ov-warnings", "ov-people"):
        assert f'id="{card}"' not in body
    assert shared_world.settings_url("billing/") not in body


def test_a_role_without_reads_sees_an_empty_overview_that_says_so(shared_world: World) -> None:
    org = shared_world.org
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        role = role_create(
            acting_user=org.owner, organization=org, name="Nothing", permissions=["tools.read"]
        )
    user = make_user()
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        membership_create(organization=org, user=user, role=role)
    response = client_for(user).get(shared_world.url())
    assert response.status_code == 200
    assert b"Your role shows nothing on this overview" in response.content
    assert b'id="ov-customers"' not in response.content


def test_customer_restricted_member_never_sees_the_overview(shared_world: World) -> None:
    assert shared_world.client(catalog.END_USER).get(shared_world.url()).status_code == 404
    restricted = make_member(shared_world.org, catalog.VIEWER, customer=shared_world.customer)
    assert client_for(restricted.user).get(shared_world.url()).status_code == 404


def test_outsider_gets_404(shared_world: World) -> None:
    assert shared_world.outsider_client().get(shared_world.url()).status_code == 404


def test_the_overview_answers_get_only(shared_world: World) -> None:
    assert shared_world.client(catalog.OWNER).post(shared_world.url()).status_code == 405


def _count_queries(client, url: str) -> int:
    with ExitStack() as stack:
        captured = [
            stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in connections
        ]
        assert client.get(url).status_code == 200
    return sum(len(c.captured_queries) for c in captured)


def _busy_customers(org: Organization, count: int, start: int) -> None:
    for n in range(start, start + count):
        customer = make_customer(org, f"Busy {n:03}", region=("us", "eu", "apac")[n % 3])
        _usage(org, customer, events=450, calls=950)
        _fail(org, customer, f"Failure {n}")
        make_customer_data(org, customer)


def test_queries_stay_the_same_however_many_customers(
    shared_world: World, django_assert_max_num_queries
) -> None:
    org = shared_world.org
    client = shared_world.client(catalog.OWNER)
    _busy_customers(org, 3, 0)
    client.get(shared_world.url())  # caches warmed
    few = _count_queries(client, shared_world.url())
    _busy_customers(org, 18, 3)  # 23 of the Free plan's 25 customers
    many = _count_queries(client, shared_world.url())
    assert many == few, f"{few} queries for 5 customers, {many} for 23"
    with django_assert_max_num_queries(40):
        assert client.get(shared_world.url()).status_code == 200
