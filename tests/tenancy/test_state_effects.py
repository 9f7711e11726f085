"""State effects of SPEC §3 that hold for every console write."""

from __future__ import annotations

import pytest
from django.test import Client

from customers.models import Customer, Organization
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer, make_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_suspended_organization_reads_but_refuses_writes() -> None:
    org = make_org()
    with context(org_id=org.id, role=ORGANIZATION):
        Organization.objects.filter(id=org.id).update(status="suspended")
    client = _client(org.owner)
    assert client.get(f"/o/{org.slug}/settings/customers/").status_code == 200
    response = client.post(f"/o/{org.slug}/settings/customers/new/", {"name": "Blocked Co"})
    assert response.status_code == 403
    assert b"organization_suspended" in response.content
    with context(org_id=org.id, role=ORGANIZATION):
        assert not Customer.objects.filter(name="Blocked Co").exists()


def test_active_organization_may_write() -> None:
    org = make_org()
    response = _client(org.owner).post(
        f"/o/{org.slug}/settings/customers/new/", {"name": "Allowed Co", "region": "us"}
    )
    assert response.status_code == 302
    with context(org_id=org.id, role=ORGANIZATION):
        assert Customer.objects.filter(name="Allowed Co").exists()


def test_relocating_customer_reads_but_refuses_writes() -> None:
    org = make_org()
    customer = make_customer(org, region="us")
    with context(org_id=org.id, role=ORGANIZATION):
        Customer.objects.filter(id=customer.id).update(status="relocating")
    client = _client(org.owner)
    base = f"/o/{org.slug}/customers/{customer.id}/"
    assert client.get(base).status_code == 200
    response = client.post(base + "configuration/new/", {"key": "k", "value": "v"})
    assert response.status_code == 409
    assert b"customer_relocating" in response.content
