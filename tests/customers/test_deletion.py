"""Deleting a customer or an organization: state ``deleting`` at once, then a real Celery worker
removes the region rows and the control-plane rows, audited at start and end."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group
from django.db import connections
from django.test import Client
from guardian.models import GroupObjectPermission

from audit.models import AuditLogEntry
from customers.models import (
    Customer,
    CustomerLimitOverride,
    Organization,
    OrganizationDeletion,
    OrganizationStatus,
)
from customers.services import organization_purge
from dataplane.events import event_drafts, events_record
from roles import catalog
from roles.models import Membership, Role
from tenancy.context import ORGANIZATION, context, region_alias
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer, make_customer_data, make_member, make_org

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)

DATA_TABLES = (
    "dataplane_connection",
    "dataplane_workflow",
    "dataplane_event",
    "dataplane_executionlog",
    "dataplane_configuration",
)


def _wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the deletion task")


def _rows_in_region(region: str, column: str, value: object) -> int:
    """Counted as the owner login, which sees every row, so nothing hides behind RLS."""
    alias = region_alias(region, login="owner")
    total = 0
    with connections[alias].cursor() as cursor:
        for table in DATA_TABLES:
            cursor.execute(f"SELECT count(*) FROM {table} WHERE {column} = %s", [str(value)])
            total += cursor.fetchone()[0]
    return total


def _control_rows(table: str, column: str, value: object) -> int:
    with connections["owner"].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE {column} = %s", [str(value)])
        return cursor.fetchone()[0]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_customer_deletion_removes_region_and_control_plane_rows(celery_worker) -> None:
    org, other = make_org("Acme"), make_org("Globex")
    doomed = make_customer(org, "Doomed", region="eu")
    kept = make_customer(org, "Kept", region="eu")
    elsewhere = make_customer(other, "Globex EU", region="eu")
    for owner_org, customer in ((org, doomed), (org, kept), (other, elsewhere)):
        make_customer_data(owner_org, customer)
        with context(org_id=owner_org.id, customer_id=customer.id, role=ORGANIZATION):
            events_record(customer=customer, drafts=event_drafts([("order.created", {"n": 1})]))
    end_user = make_member(org, catalog.END_USER, customer=doomed).user
    with context(org_id=org.id, role=ORGANIZATION):
        CustomerLimitOverride.objects.create(
            org=org, customer=doomed, limit_key="events_per_day", value=900
        )
    assert _rows_in_region("eu", "customer_id", doomed.id) == 5

    response = _client(org.owner).post(
        f"/o/{org.slug}/customers/{doomed.id}/delete/", {"confirmation": "Doomed"}
    )
    assert response.status_code == 302
    assert _client(org.owner).get(f"/o/{org.slug}/customers/{doomed.id}/").status_code == 404

    _wait_for(lambda: _control_rows("customers_customer", "id", doomed.id) == 0)
    assert _rows_in_region("eu", "customer_id", doomed.id) == 0
    assert _control_rows("customers_customerlimitoverride", "customer_id", doomed.id) == 0
    assert _control_rows("roles_membership", "restricted_customer_id", doomed.id) == 0
    assert not Group.objects.filter(user=end_user).exists()
    assert _rows_in_region("eu", "customer_id", kept.id) == 5
    assert _rows_in_region("eu", "customer_id", elsewhere.id) == 5
    with context(org_id=org.id, role=ORGANIZATION):
        actions = list(
            AuditLogEntry.objects.filter(subject_customer_id=doomed.id)
            .order_by("created_at")
            .values_list("action", flat=True)
        )
    assert actions[-2:] == ["customer.delete.start", "customer.delete.finish"]


def test_organization_deletion_removes_everything_it_owned(celery_worker) -> None:
    org, other = make_org("Acme"), make_org("Globex")
    customers = [
        make_customer(org, f"C {region}", region=region) for region in ("us", "eu", "apac")
    ]
    for customer in customers:
        make_customer_data(org, customer)
    survivor = make_customer(other, "Survivor", region="eu")
    make_customer_data(other, survivor)
    make_member(org, catalog.VIEWER)
    make_member(org, catalog.END_USER, customer=customers[0])
    with context(org_id=org.id, role=ORGANIZATION):
        from api.models import ApiKey

        # An API key protects its role from deletion: the purge must remove it first.
        ApiKey.objects.create(
            org=org,
            name="ci",
            prefix="p",
            secret_hash="h",
            role=Role.objects.get(system_key="admin"),
        )

    response = _client(org.owner).post(
        f"/o/{org.slug}/settings/general/delete/", {"confirmation": "Acme"}
    )
    assert response.status_code == 302
    _wait_for(lambda: _control_rows("customers_organization", "id", org.id) == 0)

    for region in ("us", "eu", "apac"):
        assert _rows_in_region(region, "org_id", org.id) == 0
    for table in (
        "customers_customer",
        "roles_role",
        "roles_membership",
        "audit_auditlogentry",
        "api_apikey",
    ):
        assert _control_rows(table, "org_id", org.id) == 0, table
    assert not Group.objects.filter(name__startswith=f"org:{org.id}:").exists()
    assert not GroupObjectPermission.objects.filter(object_pk=str(org.id)).exists()
    record = OrganizationDeletion.objects.get(former_org_id=org.id)
    assert record.finished_at is not None and record.requested_by_email == org.owner.email
    assert record.removed["control_plane_rows"] > 0
    # The other organization is untouched.
    assert _rows_in_region("eu", "org_id", other.id) == 4
    with context(org_id=other.id, role=ORGANIZATION):
        assert Role.objects.filter(is_system=True).count() == 6
        assert Membership.objects.count() == 1


def test_purge_refuses_an_organization_that_is_not_being_deleted() -> None:
    org = make_org("Alive")
    make_customer(org, "Still here")
    with context(org_id=org.id, role=ORGANIZATION), pytest.raises(Exception, match="deleting"):
        organization_purge(organization_id=org.id)
    with context(org_id=org.id, role=ORGANIZATION):
        assert Organization.objects.get(id=org.id).status == OrganizationStatus.ACTIVE
        assert Customer.objects.count() == 1
