"""Organization-level caps count the whole organization, whatever customer a request names
(SPEC §7): naming an existing customer in ``x-end-org-id`` narrows the request's scope to that
customer, and the customer cap must not be counted in that narrowed view."""

from __future__ import annotations

import pytest

from billing.services import LimitReached, count_limit_guard
from customers.models import Customer, Organization
from tenancy.context import CUSTOMER, ORGANIZATION, context
from tests.api.conftest import Api, make_key
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer, make_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

FREE_CUSTOMER_CAP = 25


def _fill_to_the_cap(org: Organization) -> Customer:
    """The Free plan's customers, all but one made in bulk; returns one of them."""
    named = make_customer(org, "Named in the header")
    with context(org_id=org.id, role=ORGANIZATION):
        Customer.objects.bulk_create(
            Customer(org=org, name=f"C{n}", slug=f"c{n}", region="us")
            for n in range(FREE_CUSTOMER_CAP - 1)
        )
        assert Customer.objects.count() == FREE_CUSTOMER_CAP
    return named


def _customer_count(org: Organization) -> int:
    with context(org_id=org.id, role=ORGANIZATION):
        return Customer.objects.count()


def test_naming_a_customer_in_the_header_does_not_lift_the_customer_cap(api: Api) -> None:
    org = make_org("Capped")
    key = make_key(org)
    named = _fill_to_the_cap(org)

    with_header = api("POST", "/customers", key, customer=named, json={"name": "One too many"})
    assert with_header.status_code == 409, with_header.content
    error = with_header.json()["error"]
    assert error["code"] == "limit_reached"
    assert error["limit"] == {"name": "customers_per_org", "value": FREE_CUSTOMER_CAP}

    without_header = api("POST", "/customers", key, json={"name": "Still too many"})
    assert without_header.status_code == 409
    assert _customer_count(org) == FREE_CUSTOMER_CAP


def test_the_last_free_slot_is_taken_once_even_through_the_header(api: Api) -> None:
    org = make_org("Almost full")
    key = make_key(org)
    named = _fill_to_the_cap(org)
    with context(org_id=org.id, role=ORGANIZATION):
        Customer.objects.filter(slug="c0").delete()

    taken = api("POST", "/customers", key, customer=named, json={"name": "Last one"})
    assert taken.status_code == 201, taken.content
    refused = api("POST", "/customers", key, customer=named, json={"name": "After the last"})
    assert refused.status_code == 409
    assert _customer_count(org) == FREE_CUSTOMER_CAP


def test_the_guard_counts_the_organization_inside_a_customer_scope() -> None:
    org = make_org("Guarded")
    named = _fill_to_the_cap(org)
    with context(org_id=org.id, customer_id=named.id, role=ORGANIZATION):
        organization = Organization.objects.get(id=org.id)
        with pytest.raises(LimitReached, match=r"Customers per organization limit \(25\)"):
            count_limit_guard(organization=organization, key="customers_per_org")
        # The scope the caller entered is the one in force again afterwards.
        assert list(Customer.objects.values_list("id", flat=True)) == [named.id]


def test_a_customer_restricted_scope_never_counts_an_organization_cap() -> None:
    """Such a scope sees one customer, so any count there would be too low: refuse it."""
    org = make_org("Restricted")
    named = make_customer(org, "Only one visible")
    with context(org_id=org.id, customer_id=named.id, role=CUSTOMER):
        organization = Organization.objects.get(id=org.id)
        for key in ("customers_per_org", "api_keys_per_org"):
            with pytest.raises(ValueError, match="organization-wide"):
                count_limit_guard(organization=organization, key=key)
