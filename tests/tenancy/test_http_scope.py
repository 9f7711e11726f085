"""Console URLs: the middleware resolves the organization and customer and 404s outsiders."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from roles import catalog
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer, make_customer_data, make_member, make_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def two_orgs():
    acme, globex = make_org("Acme"), make_org("Globex")
    acme_customer = make_customer(acme, "Acme Customer", region="eu")
    globex_customer = make_customer(globex, "Globex Customer", region="eu")
    make_customer_data(acme, acme_customer)
    make_customer_data(globex, globex_customer)
    return acme, globex, acme_customer, globex_customer


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_member_sees_own_customer_page(two_orgs) -> None:
    acme, _, acme_customer, _ = two_orgs
    response = _client(acme.owner).get(f"/o/{acme.slug}/customers/{acme_customer.id}/")
    assert response.status_code == 200
    assert b"Acme Customer" in response.content


def test_outsider_gets_404_for_another_organization(two_orgs) -> None:
    acme, globex, _, _ = two_orgs
    assert _client(globex.owner).get(f"/o/{acme.slug}/").status_code == 404
    assert _client(globex.owner).get(f"/o/{acme.slug}/settings/customers/").status_code == 404


def test_another_organizations_customer_under_own_slug_is_404(two_orgs) -> None:
    acme, _, _, globex_customer = two_orgs
    response = _client(acme.owner).get(f"/o/{acme.slug}/customers/{globex_customer.id}/")
    assert response.status_code == 404


def test_unknown_and_malformed_customer_ids_are_404(two_orgs) -> None:
    acme, _, _, _ = two_orgs
    client = _client(acme.owner)
    assert client.get(f"/o/{acme.slug}/customers/{uuid.uuid4()}/").status_code == 404
    assert client.get(f"/o/{acme.slug}/customers/not-a-uuid/").status_code == 404
    assert client.get(f"/o/{acme.slug}/customers/{uuid.uuid4()}x/").status_code == 404


def test_customer_restricted_member_sees_only_their_customer(two_orgs) -> None:
    acme, _, acme_customer, _ = two_orgs
    other = make_customer(acme, "Other Customer")
    end_user = make_member(acme, catalog.END_USER, customer=acme_customer).user
    client = _client(end_user)
    assert client.get(f"/o/{acme.slug}/customers/{acme_customer.id}/").status_code == 200
    assert client.get(f"/o/{acme.slug}/customers/{other.id}/").status_code == 404
    assert client.get(f"/o/{acme.slug}/settings/customers/").status_code == 404
    assert client.get(f"/o/{acme.slug}/").status_code == 404


def test_customer_list_shows_full_customer_ids_and_searches(two_orgs) -> None:
    acme, _, acme_customer, globex_customer = two_orgs
    client = _client(acme.owner)
    response = client.get(f"/o/{acme.slug}/settings/customers/")
    assert str(acme_customer.id).encode() in response.content
    assert str(globex_customer.id).encode() not in response.content
    found = client.get(f"/o/{acme.slug}/settings/customers/", {"q": str(acme_customer.id)})
    assert b"Acme Customer" in found.content
    missing = client.get(f"/o/{acme.slug}/settings/customers/", {"q": "zzz-nothing"})
    assert b"No customer matches" in missing.content
