"""The scope's settings reach a connection just before its first query (tenancy.context):
unused databases cost nothing, and no rollback, release or ended transaction can leave a
connection holding another scope's settings — the attacks here try to make it."""

from __future__ import annotations

from contextlib import ExitStack

import psycopg
import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from dataplane.models import ExecutionLog
from tenancy.context import CUSTOMER, ORGANIZATION, context, region_alias
from tests.conftest import ALL_DATABASES
from tests.tenancy.conftest import settings_on

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_database_the_scope_never_queries_gets_no_statement(two_customers) -> None:
    """As in a request (no test transaction around it). Django notes BEGIN and COMMIT for each
    region's atomic block, but psycopg sends BEGIN only before a first statement and no COMMIT
    for a transaction that never began: the region connections stay idle."""
    org, _, _ = two_customers
    regions = [region_alias(region) for region in ("us", "eu", "apac")]
    with ExitStack() as stack:
        captured = [stack.enter_context(CaptureQueriesContext(connections[a])) for a in regions]
        with context(org_id=org.id, role=ORGANIZATION):
            assert Customer.objects.count() == 2
            states = {connections[a].connection.info.transaction_status for a in regions}
    assert states == {psycopg.pq.TransactionStatus.IDLE}
    sent = [q["sql"] for c in captured for q in c.captured_queries]
    assert set(sent) <= {"BEGIN", "COMMIT"}, sent


def test_settings_are_written_once_per_scope_not_per_query(two_customers) -> None:
    org, mine, _ = two_customers
    with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER):
        with CaptureQueriesContext(connections[region_alias("eu")]) as captured:
            for _ in range(3):
                assert ExecutionLog.objects.count() == 1
    writes = [q for q in captured.captured_queries if "set_config" in q["sql"]]
    assert len(writes) == 1


def test_a_rolled_back_savepoint_cannot_leave_the_wider_scope_in_force(two_customers) -> None:
    """The customer scope's first query runs inside a savepoint that then rolls back, which
    undoes its settings: the next query must not run with the organization-wide ones."""
    org, mine, _ = two_customers
    eu = region_alias("eu")
    with context(org_id=org.id, role=ORGANIZATION):
        assert ExecutionLog.objects.using(eu).count() == 2  # org-wide settings written on eu
        with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER):
            with pytest.raises(ZeroDivisionError):
                with transaction.atomic(using=eu):
                    assert ExecutionLog.objects.count() == 1
                    raise ZeroDivisionError
            assert ExecutionLog.objects.count() == 1
            assert settings_on(eu) == (str(org.id), str(mine.id))
        assert settings_on(eu) == (str(org.id), "")


def test_leaving_a_nested_scope_brings_back_the_outer_one(two_customers) -> None:
    org, mine, theirs = two_customers
    with context(org_id=org.id, customer_id=theirs.id, role=ORGANIZATION):
        assert ExecutionLog.objects.count() == 1
        with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER):
            assert list(ExecutionLog.objects.values_list("customer_id", flat=True)) == [mine.id]
        assert list(ExecutionLog.objects.values_list("customer_id", flat=True)) == [theirs.id]


def test_a_new_transaction_opened_by_a_savepoint_gets_its_settings_again(two_customers) -> None:
    """After a scope's transaction ends, the next one may start with a SAVEPOINT (a nested
    atomic block) rather than a query: the settings of the old transaction are gone."""
    org, mine, theirs = two_customers
    eu = region_alias("eu")
    for customer in (mine, theirs):
        with context(org_id=org.id, customer_id=customer.id, role=CUSTOMER):
            with transaction.atomic(using=eu):
                assert list(ExecutionLog.objects.values_list("customer_id", flat=True)) == [
                    customer.id
                ]
    assert settings_on(eu) == ("", "")


def test_outside_every_scope_a_connection_holds_nothing(two_customers) -> None:
    org, mine, _ = two_customers
    with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER):
        assert ExecutionLog.objects.count() == 1
    assert settings_on(region_alias("eu")) == ("", "")
    assert settings_on("default") == ("", "")
