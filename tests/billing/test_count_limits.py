"""Count limits are checked under a lock on the parent row (SPEC §7): two concurrent requests on
two real database connections cannot both take the last slot."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connections

from billing.services import LimitReached, count_limit_guard
from customers.models import Customer, CustomerLimitOverride, CustomerStatus, Organization
from customers.services import customer_create
from customers.states import CustomerNotWritable
from dataplane import services as dataplane
from dataplane.models import Connection
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer, make_org

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


def _race(attempt: Callable[[], None], workers: int = 2) -> list[BaseException | None]:
    """Run ``attempt`` in ``workers`` threads (each with its own connections), released together
    and holding their transaction open long enough for the others to reach the lock."""
    barrier = threading.Barrier(workers)
    outcomes: list[BaseException | None] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            attempt()
            result: BaseException | None = None
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            result = exc
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def _pause() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.3)")


def _org_one_below_the_customer_cap(name: str) -> Organization:
    """A Free organization with 24 customers: one short of its cap of 25."""
    org = make_org(name)
    with context(org_id=org.id, role=ORGANIZATION):
        Customer.objects.bulk_create(
            Customer(org=org, name=f"C{n}", slug=f"c{n}") for n in range(24)
        )
    return org


def test_two_concurrent_creates_cannot_pass_the_customer_cap() -> None:
    org = _org_one_below_the_customer_cap("Racing")

    def create() -> None:
        with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
            organization = Organization.objects.get(id=org.id)
            customer_create(
                acting_user=org.owner,
                organization=organization,
                name=f"Last {threading.get_ident()}",
            )
            _pause()

    outcomes = _race(create)
    assert sorted(type(o).__name__ for o in outcomes) == ["LimitReached", "NoneType"]
    failure = next(o for o in outcomes if o is not None)
    assert "Customers per organization limit (25) reached on the Free plan" in str(failure)
    with context(org_id=org.id, role=ORGANIZATION):
        assert Customer.objects.count() == 25


def test_without_the_lock_the_same_race_would_slip_past() -> None:
    """Control experiment: counting without ``select_for_update`` lets both in, which is what
    the guard prevents."""
    org = _org_one_below_the_customer_cap("Unguarded")

    def create_unguarded() -> None:
        with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
            if Customer.objects.count() + 1 > 25:
                raise ValidationError("full")
            _pause()
            Customer.objects.create(
                org_id=org.id, name=f"U{threading.get_ident()}", slug=f"u{threading.get_ident()}"
            )

    assert _race(create_unguarded) == [None, None]
    with context(org_id=org.id, role=ORGANIZATION):
        assert Customer.objects.count() == 26


def test_two_concurrent_connections_cannot_pass_the_per_customer_cap() -> None:
    org = make_org("Connect")
    customer = make_customer(org, "Busy", region="eu")
    with context(org_id=org.id, role=ORGANIZATION):
        CustomerLimitOverride.objects.create(
            org=org, customer=customer, limit_key="connections_per_customer", value=1
        )

    def connect() -> None:
        with context(org_id=org.id, customer_id=customer.id, role=ORGANIZATION):
            organization = Organization.objects.get(id=org.id)
            count_limit_guard(
                organization=organization, key="connections_per_customer", customer=customer
            )
            _pause()
            dataplane.connection_create_unchecked(connector_id=org.id, name="Slack")

    outcomes = _race(connect)
    failure = next(o for o in outcomes if o is not None)
    assert isinstance(failure, LimitReached)
    assert "Connections per customer limit (1) reached (customer override)" in str(failure)
    assert outcomes.count(None) == 1
    with context(org_id=org.id, customer_id=customer.id, role=ORGANIZATION):
        assert Connection.objects.count() == 1


def test_suspended_customer_refuses_new_rows() -> None:
    org = make_org("Paused")
    customer = make_customer(org, "Paused customer", status=CustomerStatus.ACTIVE)
    with context(org_id=org.id, role=ORGANIZATION):
        Customer.objects.filter(id=customer.id).update(status=CustomerStatus.SUSPENDED)
    with context(org_id=org.id, customer_id=customer.id, role=ORGANIZATION):
        organization = Organization.objects.get(id=org.id)
        with pytest.raises(CustomerNotWritable) as refused:
            count_limit_guard(
                organization=organization, key="workflows_per_customer", customer=customer
            )
    assert refused.value.code == "customer_suspended"


def test_api_key_cap_is_guarded_on_the_organization_row() -> None:
    from api.models import ApiKey
    from roles.models import Role

    org = make_org("Keys")
    with context(org_id=org.id, role=ORGANIZATION):
        role = Role.objects.get(system_key="admin")
        for n in range(2):
            ApiKey.objects.create(
                org=org, name=f"k{n}", prefix=f"p{n}", secret_hash=f"h{n}", role=role
            )
        organization = Organization.objects.get(id=org.id)
        with pytest.raises(LimitReached, match=r"API keys per organization limit \(2\)"):
            count_limit_guard(organization=organization, key="api_keys_per_org")
