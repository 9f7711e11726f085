"""Every organization row is readable to the runtime login (SPEC §5.5: the duplicate-domain check
and slug resolution need names and domains), so nothing else may sit on it. A pending
email-domain change — the domain an organization is moving to and the address its link went
to — lives in its own table that only that organization's organization-wide principals read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from customers.models import EmailDomainChange, Organization
from customers.services import email_domain
from roles import catalog
from tenancy.context import CUSTOMER, ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.factories import make_org
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

DOMAIN, ADDRESS = "acme-next.com", "it@acme-next.com"


def _request_change(world: World) -> None:
    with context(org_id=world.org.id, role=ORGANIZATION, user_id=world.user(catalog.OWNER).pk):
        email_domain.organization_email_domain_request(
            acting_user=world.user(catalog.OWNER),
            organization=world.org,
            domain=DOMAIN,
            address=ADDRESS,
            build_link=lambda token: f"https://console.test/verify/{token}/",
        )


def _organization_rows(alias: str = "default") -> str:
    """Every organization row the runtime login can read, whole, as text."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT to_jsonb(o)::text FROM customers_organization o")
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_organizations_table_holds_no_pending_change() -> None:
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'customers_organization'"
        )
        columns = {row[0] for row in cursor.fetchall()}
    assert {"name", "slug", "email_domain"} <= columns
    assert not {c for c in columns if "pending" in c or "sent_to" in c}


@pytest.mark.parametrize("where", ["no context", "another organization", "customer-restricted"])
def test_nobody_outside_the_organization_wide_scope_reads_a_pending_change(
    shared_world: World, where: str
) -> None:
    _request_change(shared_world)
    end_user = shared_world.members[catalog.END_USER]
    scopes: dict[str, Any] = {
        "no context": None,
        "another organization": {"org_id": shared_world.other_org.id, "role": ORGANIZATION},
        "customer-restricted": {
            "org_id": shared_world.org.id,
            "customer_id": shared_world.customer.id,
            "role": CUSTOMER,
            "user_id": end_user.user_id,
        },
    }
    scope = scopes[where]
    with context(**scope) if scope else transaction.atomic():
        everything = _organization_rows()
        assert shared_world.org.slug in everything  # the rows themselves stay readable
        assert DOMAIN not in everything and ADDRESS not in everything
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM customers_emaildomainchange")
            assert cursor.fetchone()[0] == 0
        if scope:
            assert not EmailDomainChange.objects.unscoped().exists()
            values = json.dumps(list(Organization.objects.values()), default=str)
            assert DOMAIN not in values and ADDRESS not in values


def test_the_organization_itself_still_sees_its_pending_change(shared_world: World) -> None:
    _request_change(shared_world)
    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        change = email_domain.pending_email_domain(shared_world.org)
    assert change is not None and (change.domain, change.sent_to) == (DOMAIN, ADDRESS)
    page = (
        shared_world.client(catalog.VIEWER)
        .get(shared_world.settings_url("general/"))
        .content.decode()
    )
    assert "Pending change" in page
    assert f"<code>{DOMAIN}</code> — waiting for the link sent to {ADDRESS} to be followed" in page
    assert (
        DOMAIN
        not in shared_world.outsider_client()
        .get(shared_world.settings_url("general/", org=shared_world.other_org))
        .content.decode()
    )


def test_cancelling_removes_the_pending_change(shared_world: World) -> None:
    _request_change(shared_world)
    client = shared_world.client(catalog.ADMIN)
    assert client.post(shared_world.settings_url("general/domain/cancel/")).status_code == 302
    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        assert email_domain.pending_email_domain(shared_world.org) is None
    assert (
        "Pending change" not in client.get(shared_world.settings_url("general/")).content.decode()
    )


# --- The migration moves an installation's pending changes -------------------------------------

BEFORE = [("customers", "0002_organization_deletion_and_domain_address")]


@pytest.fixture
def owner_executor() -> Iterator[MigrationExecutor]:
    """The owner's migration executor inside a transaction that is rolled back, so the shared
    test database ends exactly as it was. Only the owner connection touches it meanwhile."""
    with transaction.atomic(using="owner"):
        yield MigrationExecutor(connections["owner"])
        transaction.set_rollback(True, using="owner")


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_the_migration_moves_pending_changes_to_their_own_table(
    owner_executor: MigrationExecutor,
) -> None:
    moving, still = make_org("Moving"), make_org("Still")
    latest = owner_executor.loader.graph.leaf_nodes("customers")
    owner_executor.migrate(BEFORE)
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "UPDATE customers_organization SET pending_email_domain = %s, "
            "pending_email_domain_sent_to = %s WHERE id = %s",
            ["moving-next.com", "it@moving-next.com", str(moving.id)],
        )
    owner_executor.loader.build_graph()
    owner_executor.migrate(latest)
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT org_id, domain, sent_to FROM customers_emaildomainchange "
            "WHERE org_id = ANY (%s::uuid[])",
            [[str(moving.id), str(still.id)]],
        )
        moved = cursor.fetchall()
    assert moved == [(moving.id, "moving-next.com", "it@moving-next.com")]
    assert "moving-next.com" not in _organization_rows("owner")


def test_the_emailed_link_still_finds_the_pending_change_signed_out(shared_world: World) -> None:
    _request_change(shared_world)
    token = email_domain.domain_token(organization=shared_world.org, domain=DOMAIN)
    page = Client().get(shared_world.url(f"settings/general/domain/verify/{token}/"))
    assert page.status_code == 200
    assert b"cancelled, already applied" not in page.content
