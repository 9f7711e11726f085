"""SPEC §14: refused actions (403) audited once per action and principal per minute; the log
read with ``organization.manage_members`` (SPEC §4), filtered by customer; its export
audited."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from audit import actions
from audit.models import AuditLogEntry
from audit.services import REFUSAL_WINDOW_SECONDS, audit_record, audit_refusal
from roles import catalog
from roles.selectors import has_permission
from roles.services import membership_role_change
from tests.conftest import ALL_DATABASES
from tests.factories import client_for, make_member
from tests.roles.helpers import in_org, org_role
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _refusals(world: World) -> list[AuditLogEntry]:
    with in_org(world.org):
        return list(AuditLogEntry.objects.filter(action=actions.ACCESS_DENIED))


def test_a_refused_action_is_recorded_with_the_permission_it_lacked(shared_world) -> None:
    viewer = shared_world.members[catalog.VIEWER]
    response = shared_world.client(catalog.VIEWER).get(
        shared_world.settings_url("audit/"), REMOTE_ADDR="198.51.100.4"
    )
    assert response.status_code == 403
    [entry] = _refusals(shared_world)
    assert entry.actor_id == viewer.user_id
    assert (entry.target_type, entry.target_id) == ("permission", catalog.MANAGE_MEMBERS)
    assert entry.after == {
        "permission": "organization.manage_members",
        "view": "audit:log",
        "method": "GET",
    }
    assert entry.ip_address == "198.51.100.4"


def test_a_repeated_refusal_is_recorded_once_a_minute(shared_world) -> None:
    client = shared_world.client(catalog.VIEWER)
    for _ in range(5):
        assert client.get(shared_world.settings_url("audit/")).status_code == 403
    assert len(_refusals(shared_world)) == 1
    # Another action is another row; so is the same action by another member.
    assert client.get(shared_world.settings_url("audit/export.csv")).status_code == 403
    other = shared_world.client(catalog.OPERATOR)
    assert other.get(shared_world.settings_url("audit/")).status_code == 403
    assert len(_refusals(shared_world)) == 3


def test_the_next_minute_records_the_refusal_again(shared_world) -> None:
    member = shared_world.members[catalog.VIEWER]
    now = time.time()
    recorded = []
    with in_org(shared_world.org):
        for moment in (now, now, now + REFUSAL_WINDOW_SECONDS):
            recorded.append(
                audit_refusal(
                    actor=member.user,
                    principal_id=member.id,
                    permission="customers.create",
                    view_name="customers:create",
                    method="POST",
                    now=moment,
                )
            )
    assert [entry is not None for entry in recorded] == [True, False, True]


def test_a_refusal_on_a_customer_page_names_the_customer(shared_world) -> None:
    client = shared_world.client(catalog.VIEWER)
    response = client.post(shared_world.customer_url(suffix="status/"), {"status": "suspended"})
    assert response.status_code == 403
    [entry] = _refusals(shared_world)
    assert entry.subject_customer_id == shared_world.customer.id
    assert entry.target_id == "customers.update"


def test_a_refused_write_leaves_nothing_else_behind(shared_world) -> None:
    with in_org(shared_world.org):
        before = set(AuditLogEntry.objects.values_list("action", flat=True))
    shared_world.client(catalog.VIEWER).post(
        shared_world.settings_url("roles/new/"), {"name": "Sneaky", "permissions": []}
    )
    with in_org(shared_world.org):
        after = set(AuditLogEntry.objects.values_list("action", flat=True))
    assert after - before == {actions.ACCESS_DENIED}


def test_outsiders_get_404_and_no_row_in_the_organization(shared_world) -> None:
    client = shared_world.outsider_client()
    assert client.get(shared_world.settings_url("audit/")).status_code == 404
    assert _refusals(shared_world) == []


# --- Reading the log: organization.manage_members (SPEC §4) ---------------------------------


def test_owner_and_admin_read_the_log_and_developers_do_not(shared_world) -> None:
    with in_org(shared_world.org):
        holders = {
            key
            for key in (catalog.OWNER, catalog.ADMIN, catalog.DEVELOPER, catalog.OPERATOR)
            if has_permission(shared_world.members[key], catalog.MANAGE_MEMBERS, shared_world.org)
        }
    assert holders == {catalog.OWNER, catalog.ADMIN}


def _member_with_role(world: World, name: str, permissions: list[str]) -> Client:
    """A client signed in as a new member holding only a custom role with ``permissions``."""
    role = org_role(world.org, name, permissions)
    member = make_member(world.org, catalog.VIEWER)
    with in_org(world.org):
        membership_role_change(acting_user=world.org.owner, membership=member, role=role)
    return client_for(member.user)


def test_a_role_that_manages_people_reads_and_exports_the_log(shared_world) -> None:
    client = _member_with_role(shared_world, "People manager", [catalog.MANAGE_MEMBERS])
    assert client.get(shared_world.settings_url("audit/")).status_code == 200
    assert client.get(shared_world.settings_url("audit/export.csv")).status_code == 200


def test_a_role_without_it_does_not_open_the_log(shared_world) -> None:
    client = _member_with_role(shared_world, "Builder", ["workflows.read"])
    assert client.get(shared_world.settings_url("audit/")).status_code == 403
    assert client.get(shared_world.settings_url("audit/export.csv")).status_code == 403


# --- Customer filter, export audited ---------------------------------------------------------


def _row(world: World, name: str, customer=None) -> None:
    with in_org(world.org):
        audit_record(
            actor=world.org.owner,
            action=actions.ROLE_UPDATE,
            subject_customer_id=customer.id if customer else None,
            after={"name": name},
        )


def test_the_log_filters_by_customer(shared_world) -> None:
    _row(shared_world, "about-northwind", shared_world.customer)
    _row(shared_world, "about-hooli", shared_world.second_customer)
    _row(shared_world, "about-the-org")
    client = shared_world.client(catalog.ADMIN)
    url = shared_world.settings_url("audit/")
    page = client.get(url).content.decode()
    assert f'<option value="{shared_world.customer.id}">Northwind</option>' in page
    northwind = client.get(url, {"customer": str(shared_world.customer.id)}).content.decode()
    assert "about-northwind" in northwind
    assert "about-hooli" not in northwind and "about-the-org" not in northwind
    org_wide = client.get(url, {"customer": "none"}).content.decode()
    assert "about-the-org" in org_wide and "about-northwind" not in org_wide
    exported = client.get(
        shared_world.settings_url("audit/export.csv"), {"customer": str(shared_world.customer.id)}
    ).content.decode()
    assert "about-northwind" in exported and "about-hooli" not in exported


def test_a_customer_of_another_organization_is_no_filter_value(shared_world) -> None:
    response = shared_world.client(catalog.ADMIN).get(
        shared_world.settings_url("audit/"), {"customer": str(shared_world.other_customer.id)}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Select a valid choice" in body
    assert "Paris Patisserie" not in body


def test_exporting_the_log_is_itself_audited(shared_world) -> None:
    _row(shared_world, "something")
    client = shared_world.client(catalog.ADMIN)
    response = client.get(shared_world.settings_url("audit/export.csv"), {"action": "role.update"})
    assert response.status_code == 200
    with in_org(shared_world.org):
        [entry] = AuditLogEntry.objects.filter(action=actions.AUDIT_EXPORT)
    assert entry.actor_id == shared_world.user(catalog.ADMIN).id
    assert entry.after == {"filters": {"action": "role.update"}}
