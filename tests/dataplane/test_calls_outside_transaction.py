"""No outbound call runs inside a database transaction: the console's Test connection, the
widget's (for a signed-in end user and for a token holder), the build test panel and workflow
runs all call out with no transaction open on any alias — seen from Django (every alias's
``in_atomic_block`` at the moment of the call) and from PostgreSQL (no session of the test
databases ``idle in transaction`` while the target server answers). The checks and writes
around the call still happen, and the middleware's rules still hold for these views."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.db import connections
from django.test import Client

from dataplane import outbound
from dataplane.models import Connection, ExecutionLog
from roles import catalog
from tenancy.context import ORGANIZATION, context, region_alias
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    allow_local_outbound,
    client_for,
    in_customer,
    make_connection,
    make_connector,
    post_to_test_panel,
    set_status,
)
from tests.dataplane.targets import Target, running_target
from tests.factories import make_member
from tests.widget.links import issue_token
from tests.world import World

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


@pytest.fixture
def calls(monkeypatch) -> list[dict[str, bool]]:
    """Every outbound call's view of the aliases: alias -> whether a transaction is open."""
    seen: list[dict[str, bool]] = []
    real = outbound.request

    def watched(*args: Any, **kwargs: Any) -> outbound.OutboundResult:
        seen.append({alias: connections[alias].in_atomic_block for alias in connections})
        return real(*args, **kwargs)

    monkeypatch.setattr(outbound, "request", watched)
    return seen


def _sessions_idle_in_transaction(exclude: tuple[int, ...] = ()) -> int:
    """Sessions of this run's test databases holding a transaction open, as PostgreSQL sees
    them (asked from the target server's thread, on a connection of its own), but those of the
    backends ``exclude``."""
    config = connections["default"].settings_dict
    databases = sorted({connections[alias].settings_dict["NAME"] for alias in connections})
    with psycopg.connect(
        dbname=config["NAME"],
        user=config["USER"],
        password=config["PASSWORD"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
        autocommit=True,
    ) as probe:
        row = probe.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = ANY(%s) "
            "AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid() "
            "AND NOT pid = ANY(%s)",
            [databases, list(exclude)],
        ).fetchone()
    return int(row[0]) if row else -1


def _assert_called_outside_transactions(calls: list[dict[str, bool]], target: Target) -> None:
    assert calls, "no outbound call was made"
    for seen in calls:
        held = sorted(alias for alias, open_ in seen.items() if open_)
        assert not held, f"a transaction was open on {held} during the outbound call"
    assert target.observed and all(count == 0 for count in target.observed), target.observed


@pytest.fixture
def local_connection(world: World, settings):
    """Acme's customer connected to a local server that records open transactions per call."""
    allow_local_outbound(settings)
    org, customer = world.org, world.customer
    with running_target() as target:
        target.on_request = _sessions_idle_in_transaction
        connector = make_connector(org, name="Local", base_url=target.url("/auth"))
        connection = make_connection(org, customer, connector, token="good-token")
        yield org, customer, connection, target


def _connection(org, customer, connection) -> Connection:
    with in_customer(org, customer):
        return Connection.objects.get(id=connection.id)


def _tests_logged(org, customer) -> list[ExecutionLog]:
    with in_customer(org, customer):
        return list(ExecutionLog.objects.filter(source="connection_test"))


def test_console_test_connection_calls_out_with_no_transaction_open(
    local_connection, calls
) -> None:
    org, customer, connection, target = local_connection
    with in_customer(org, customer):
        Connection.objects.filter(id=connection.id).update(status="failed")
    response = client_for(org.owner).post(
        f"/o/{org.slug}/customers/{customer.id}/connections/{connection.id}/test/"
    )
    assert response.status_code == 302
    _assert_called_outside_transactions(calls, target)
    assert _connection(org, customer, connection).status == "active"
    [log] = _tests_logged(org, customer)
    assert (log.status, log.connection_id) == ("completed", connection.id)


def test_widget_test_connection_of_a_signed_in_end_user_holds_no_transaction(
    world, local_connection, calls
) -> None:
    org, customer, connection, target = local_connection
    end_user = world.user(catalog.END_USER)
    client = Client(enforce_csrf_checks=False)
    client.force_login(end_user)
    response = client.post(f"/widget/{org.slug}/{customer.id}/connections/{connection.id}/test/")
    assert response.status_code == 302
    _assert_called_outside_transactions(calls, target)
    assert len(_tests_logged(org, customer)) == 1


def test_widget_test_connection_of_a_token_holder_holds_no_transaction(
    local_connection, calls
) -> None:
    org, customer, connection, target = local_connection
    token = issue_token(org, customer)
    response = Client().post(
        f"/widget/{org.slug}/{customer.id}/connections/{connection.id}/test/", {"token": token}
    )
    assert response.status_code == 302
    _assert_called_outside_transactions(calls, target)
    [log] = _tests_logged(org, customer)
    assert log.status == "completed"


def test_build_test_panel_calls_out_with_no_transaction_open(local_connection, calls) -> None:
    org, customer, _, target = local_connection
    response = post_to_test_panel(org, customer, org.owner, target.url("/echo"))
    assert response.status_code == 200
    assert b"HTTP 200" in response.content
    _assert_called_outside_transactions(calls, target)
    with context(org_id=org.id, role=ORGANIZATION):
        log = ExecutionLog.objects.using(region_alias("eu")).get(customer_id=customer.id)
    assert (log.source, log.status) == ("tool", "completed")


def test_a_workflow_run_calls_out_with_no_transaction_open(local_connection, celery_worker) -> None:
    from tests.dataplane.test_workflows import _run

    org, customer, connection, target = local_connection
    # The worker's sessions are the ones to watch: this process polls for the end meanwhile.
    for alias in connections:
        connections[alias].ensure_connection()
    own = tuple(connections[alias].connection.info.backend_pid for alias in connections)
    target.on_request = lambda: _sessions_idle_in_transaction(exclude=own)
    step = {"name": "read", "url": target.url("/auth"), "connection": str(connection.id)}
    execution = _run(org, customer, [step])
    assert execution.status == "completed", execution.message
    assert target.observed == [0]


# The views that call out keep the middleware's and their own rules -------------------------


def test_a_viewer_still_cannot_test_a_connection(world, local_connection, calls) -> None:
    org, customer, connection, target = local_connection
    viewer = world.user(catalog.VIEWER)
    response = client_for(viewer).post(
        f"/o/{org.slug}/customers/{customer.id}/connections/{connection.id}/test/"
    )
    assert response.status_code == 403
    assert calls == [] and target.requests == []


def test_test_connection_outside_the_members_scope_is_404(world, local_connection, calls) -> None:
    org, customer, connection, target = local_connection
    sibling, globex, globex_customer = world.second_customer, world.other_org, world.other_customer
    paths = [
        (org.owner, f"/o/{org.slug}/customers/{sibling.id}/connections/{connection.id}/test/"),
        (globex.owner, f"/o/{org.slug}/customers/{customer.id}/connections/{connection.id}/test/"),
        (
            globex.owner,
            f"/o/{globex.slug}/customers/{globex_customer.id}/connections/{connection.id}/test/",
        ),
        (
            make_member(org, catalog.END_USER, customer=sibling).user,
            f"/o/{org.slug}/customers/{customer.id}/connections/{connection.id}/test/",
        ),
    ]
    for user, path in paths:
        assert client_for(user).post(path).status_code == 404, path
    token = issue_token(org, sibling)
    widget = Client().post(
        f"/widget/{org.slug}/{sibling.id}/connections/{connection.id}/test/", {"token": token}
    )
    assert widget.status_code == 404
    assert calls == [] and target.requests == []


def test_the_state_table_still_refuses_a_test_of_a_relocating_or_suspended_customer(
    local_connection, calls
) -> None:
    org, customer, connection, target = local_connection
    url = f"/o/{org.slug}/customers/{customer.id}/connections/{connection.id}/test/"
    set_status(customer, "relocating")
    assert client_for(org.owner).post(url).status_code == 409
    set_status(customer, "suspended")
    response = client_for(org.owner).post(url, follow=True)
    assert b"runs are refused" in response.content
    assert calls == [] and target.requests == []
    assert _tests_logged(org, customer) == []
