"""Execution messages are shown to end users in the widget: they name members by name or not
at all, never by email — for new runs, and for rows logged before this rule (the migration
that scrubs them)."""

from __future__ import annotations

import importlib

import pytest
from django.db import connections
from django.test import Client

from accounts.models import User
from dataplane.models import ExecutionLog
from roles import catalog
from tenancy.context import region_alias
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    allow_local_outbound,
    client_for,
    in_customer,
    post_to_test_panel,
)
from tests.dataplane.targets import running_target
from tests.factories import make_member
from tests.widget.links import issue_token
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def acme(world: World, settings):
    allow_local_outbound(settings)
    return world.org, world.customer


def _run_test_panel(org, customer, user, target) -> None:
    assert post_to_test_panel(org, customer, user, target.url("/echo")).status_code == 200


def _widget_pages(org, customer) -> list[bytes]:
    # Not the world's End User: the pages are searched for "acme.test", the world's mail domain.
    end_user = make_member(org, catalog.END_USER, customer=customer).user
    token = issue_token(org, customer)
    url = f"/widget/{org.slug}/{customer.id}/"
    return [
        client_for(end_user).get(url).content,
        Client().get(url, {"token": token}).content,
    ]


def _messages(org, customer) -> list[str]:
    with in_customer(org, customer):
        return list(ExecutionLog.objects.values_list("message", flat=True))


def test_a_test_panel_run_shows_end_users_no_member_email(world, acme) -> None:
    org, customer = acme
    developer = world.user(catalog.DEVELOPER)
    with running_target() as target:
        _run_test_panel(org, customer, developer, target)
    [message] = _messages(org, customer)
    assert developer.email not in message
    assert "@" not in message
    assert "(test panel)" in message
    for page in _widget_pages(org, customer):
        assert b"Summarizer" in page or b"test panel" in page
        assert developer.email.encode() not in page


def test_a_member_with_a_name_is_named(world, acme) -> None:
    org, customer = acme
    developer = world.user(catalog.DEVELOPER)
    User.objects.filter(pk=developer.pk).update(full_name="Dana Developer")
    developer.refresh_from_db()
    with running_target() as target:
        _run_test_panel(org, customer, developer, target)
    [message] = _messages(org, customer)
    assert "(test panel by Dana Developer)" in message
    assert developer.email not in message
    for page in _widget_pages(org, customer):
        assert b"Dana Developer" in page
        assert developer.email.encode() not in page


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_messages_logged_with_an_email_before_are_scrubbed(acme) -> None:
    org, customer = acme
    legacy = {
        "tool": "Tool Summarizer v1 (test panel by dev@acme.test): HTTP 200",
        "agent": "Agent A (x) v2 (test panel by first.last+tag@sub.acme.test): HTTP 500",
    }
    kept = {
        "workflow": "Version 1: step 1 'a (test panel by x@y.z):' failed",  # not a panel run
        "event": "Event signup received",
    }
    with in_customer(org, customer):
        for source, message in {**legacy, **kept}.items():
            ExecutionLog.objects.create(
                org_id=org.id, customer_id=customer.id, source=source, message=message
            )
    migration = importlib.import_module(
        "dataplane.migrations.0002_execution_messages_without_emails"
    )
    with connections[region_alias("eu", login="owner")].cursor() as cursor:
        cursor.execute(migration.SCRUB_SQL)  # as the migration runs: the owner, every row
    with in_customer(org, customer):
        messages = dict(ExecutionLog.objects.values_list("source", "message"))
    assert messages["tool"] == "Tool Summarizer v1 (test panel): HTTP 200"
    assert messages["agent"] == "Agent A (x) v2 (test panel): HTTP 500"
    assert {source: messages[source] for source in kept} == kept
    for page in _widget_pages(org, customer):
        assert b"acme.test" not in page
