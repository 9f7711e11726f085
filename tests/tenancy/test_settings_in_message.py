"""The scope's settings ride in the message of the first query that needs them, and a
standalone read is a transaction of its own (tenancy.context): one round trip where there were
three. The attacks here try to make a query run without its scope's settings, with another
scope's, or leave them behind on the connection."""

from __future__ import annotations

import psycopg
import pytest
from django.db import DatabaseError, connections, transaction

from dataplane.models import ExecutionLog
from tenancy.context import CUSTOMER, ORGANIZATION, context, region_alias, standalone_reads
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer, make_customer_data, make_org
from tests.tenancy.conftest import settings_on
from tests.wire import traced

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

EU = region_alias("eu")


def test_the_settings_and_the_first_query_are_one_message(two_customers) -> None:
    org, mine, _ = two_customers
    with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER):
        with traced([EU]) as wire:
            assert ExecutionLog.objects.count() == 1
            assert ExecutionLog.objects.count() == 1
    sent = wire.messages()[EU]
    assert len(sent) == 2, sent
    assert sent[0].startswith("SELECT set_config('app.user_id'") and "COUNT(*)" in sent[0]
    assert "set_config" not in sent[1]


def test_a_percent_sign_in_the_query_survives_the_settings_before_it(two_customers) -> None:
    org, mine, _ = two_customers
    with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER):
        with connections[EU].cursor() as cursor:
            cursor.execute("SELECT '100%%', %s, count(*) FROM dataplane_executionlog", ["x"])
            assert cursor.fetchone() == ("100%", "x", 1)
    with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER):
        with connections[EU].cursor() as cursor:
            cursor.execute("SELECT '5%', count(*) FROM dataplane_executionlog")
            assert cursor.fetchone() == ("5%", 1)


def test_a_write_reports_its_own_row_count_not_the_settings(two_customers) -> None:
    org, mine, theirs = two_customers
    with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER):
        changed = ExecutionLog.objects.unscoped().update(source="attack")
    assert changed == 1
    with context(org_id=org.id, customer_id=theirs.id, role=CUSTOMER):
        assert set(ExecutionLog.objects.values_list("source", flat=True)) != {"attack"}


def test_executemany_gets_the_settings_first_in_a_statement_of_their_own(two_customers) -> None:
    org, mine, theirs = two_customers
    with context(org_id=org.id, role=ORGANIZATION):
        ids = list(ExecutionLog.objects.using(EU).values_list("id", flat=True))
    assert len(ids) == 2
    with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER):
        with connections[EU].cursor() as cursor:
            cursor.executemany(
                "UPDATE dataplane_executionlog SET source = 'many' WHERE id = %s",
                [[str(row)] for row in ids],
            )
    with context(org_id=org.id, role=ORGANIZATION):
        by_customer = dict(ExecutionLog.objects.using(EU).values_list("customer_id", "source"))
    assert by_customer[mine.id] == "many"
    assert by_customer[theirs.id] != "many"


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_server_side_cursor_gets_the_settings_before_it_declares(two_customers) -> None:
    """``iterator()`` declares a named cursor, which holds one statement only: the settings go
    first in a statement of their own."""
    org, mine, _ = two_customers
    assert not connections[EU].settings_dict["DISABLE_SERVER_SIDE_CURSORS"]
    with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER):
        rows = list(ExecutionLog.objects.unscoped().iterator(chunk_size=1))
    assert [row.customer_id for row in rows] == [mine.id]


def test_a_failed_query_carrying_the_settings_cannot_leave_the_wider_scope(two_customers) -> None:
    """The customer scope's first query fails inside a savepoint; rolling the savepoint back
    undoes the settings it carried. The next query must get them again, not run with the
    organization-wide ones still on the connection."""
    org, mine, _ = two_customers
    with context(org_id=org.id, role=ORGANIZATION):
        assert ExecutionLog.objects.using(EU).count() == 2
        with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER):
            with pytest.raises(DatabaseError):
                with transaction.atomic(using=EU), connections[EU].cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM dataplane_executionlog WHERE 1/0 = 1")
            assert ExecutionLog.objects.count() == 1
            assert settings_on(EU) == (str(org.id), str(mine.id))


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_standalone_read_is_one_message_and_leaves_nothing_behind(two_customers) -> None:
    """As in a request: the region's transaction has not begun. The read is its own
    transaction (no BEGIN, no COMMIT) and the connection holds no settings after it."""
    org, mine, _ = two_customers
    with traced([EU]) as wire:
        with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER):
            with standalone_reads():
                assert list(ExecutionLog.objects.values_list("customer_id", flat=True)) == [mine.id]
            raw = connections[EU].connection
            assert raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            assert not raw.autocommit
    sent = wire.messages()[EU]
    assert len(sent) == 1 and sent[0].startswith("SELECT set_config("), sent
    assert settings_on(EU) == ("", "")


def test_a_standalone_read_sees_the_transactions_own_uncommitted_rows(two_customers) -> None:
    org, mine, _ = two_customers
    with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER):
        ExecutionLog.objects.unscoped().update(source="uncommitted")
        with standalone_reads():
            assert list(ExecutionLog.objects.values_list("source", flat=True)) == ["uncommitted"]


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_standalone_read_sees_only_its_scope(two_customers) -> None:
    org, mine, theirs = two_customers
    other = make_org()
    make_customer_data(other, make_customer(other, "Other", region="eu"))
    for customer in (mine, theirs):
        with context(org_id=org.id, customer_id=customer.id, role=CUSTOMER), standalone_reads():
            assert set(ExecutionLog.objects.values_list("customer_id", flat=True)) == {customer.id}
    with context(org_id=org.id, role=ORGANIZATION), standalone_reads():
        assert set(ExecutionLog.objects.using(EU).values_list("customer_id", flat=True)) == {
            mine.id,
            theirs.id,
        }
    with standalone_reads(), connections[EU].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM dataplane_executionlog")
        assert cursor.fetchone() == (0,)


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_write_or_a_lock_inside_standalone_reads_still_runs_in_the_transaction(
    two_customers,
) -> None:
    """Whatever the caller promised: an UPDATE or a SELECT … FOR UPDATE in the block joins the
    scope's transaction, so it rolls back with it and its lock lasts until the end."""
    org, mine, _ = two_customers
    with pytest.raises(ZeroDivisionError):
        with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER), standalone_reads():
            list(ExecutionLog.objects.unscoped().select_for_update())
            raw = connections[EU].connection
            assert raw.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
            ExecutionLog.objects.unscoped().update(source="rolled-back")
            raise ZeroDivisionError
    with context(org_id=org.id, customer_id=mine.id, role=CUSTOMER):
        assert list(ExecutionLog.objects.values_list("source", flat=True)) != ["rolled-back"]
