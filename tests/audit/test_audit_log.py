"""Settings → Advanced → Audit Log: every change audited in its own transaction, filters,
pagination, CSV export, and the staff admin."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from audit.models import AuditLogEntry
from audit.services import audit_record
from roles import catalog
from roles.models import Role
from roles.services import role_create
from tests.conftest import ALL_DATABASES
from tests.factories import client_for, make_member, make_org, make_user
from tests.roles.helpers import in_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

MANAGERS = [catalog.OWNER, catalog.ADMIN]
NON_MANAGERS = [catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER]


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def _record(org, actor, action, *, customer=None, when=None, **changes) -> AuditLogEntry:
    with in_org(org):
        entry = audit_record(
            actor=actor,
            action=action,
            target_type="thing",
            target_id="t-1",
            subject_customer_id=customer.id if customer else None,
            **changes,
        )
    if when is not None:
        # Audit rows are append-only for the runtime login: only the owner can fake a time, on
        # a committed row (the test commits, see its mark).
        with connections["owner"].cursor() as cursor:
            cursor.execute(
                "UPDATE audit_auditlogentry SET created_at = %s WHERE id = %s",
                [when, str(entry.id)],
            )
            assert cursor.rowcount == 1, "backdating needs a committed row: transaction=True"
    return entry


@pytest.mark.parametrize("key", MANAGERS)
def test_members_with_manage_members_see_the_audit_log(shared_world, key) -> None:
    _record(shared_world.org, shared_world.org.owner, "role.create", after={"name": "Support"})
    _record(
        shared_world.org,
        shared_world.org.owner,
        "connection.update",
        customer=shared_world.customer,
    )
    response = shared_world.client(key).get(shared_world.settings_url("audit/"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "role.create" in body and "Support" in body
    assert "Northwind" in body
    assert "Organization-wide" in body
    assert "Export CSV" in body


@pytest.mark.parametrize("key", NON_MANAGERS)
def test_members_without_manage_members_cannot_see_the_audit_log(shared_world, key) -> None:
    client = shared_world.client(key)
    assert client.get(shared_world.settings_url("audit/")).status_code == 403
    assert client.get(shared_world.settings_url("audit/export.csv")).status_code == 403


def test_end_user_and_outsider_get_404(shared_world) -> None:
    assert (
        shared_world.client(catalog.END_USER).get(shared_world.settings_url("audit/")).status_code
        == 404
    )
    assert (
        shared_world.outsider_client().get(shared_world.settings_url("audit/")).status_code == 404
    )
    assert (
        shared_world.outsider_client()
        .get(shared_world.settings_url("audit/export.csv"))
        .status_code
        == 404
    )


def test_log_shows_only_this_organizations_entries(shared_world) -> None:
    _record(
        shared_world.other_org,
        shared_world.other_org.owner,
        "role.create",
        after={"name": "GlobexSecret"},
    )
    body = (
        shared_world.client(catalog.OWNER).get(shared_world.settings_url("audit/")).content.decode()
    )
    assert "GlobexSecret" not in body


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_filters_by_actor_action_and_date(world) -> None:
    admin = world.members[catalog.ADMIN].user
    now = timezone.now()
    _record(world.org, admin, "role.update", after={"name": "by-admin"})
    _record(world.org, world.org.owner, "role.update", after={"name": "by-owner"})
    _record(
        world.org,
        world.org.owner,
        "membership.remove",
        before={"user": "gone-user"},
        when=now - datetime.timedelta(days=10),
    )
    client = world.client(catalog.OWNER)
    by_actor = client.get(world.settings_url("audit/"), {"actor": str(admin.id)}).content.decode()
    assert "by-admin" in by_actor and "by-owner" not in by_actor
    by_action = client.get(
        world.settings_url("audit/"), {"action": "membership.remove"}
    ).content.decode()
    assert "gone-user" in by_action and "by-admin" not in by_action
    old_day = (now - datetime.timedelta(days=10)).date().isoformat()
    by_date = client.get(world.settings_url("audit/"), {"date_from": old_day, "date_to": old_day})
    assert "gone-user" in by_date.content.decode()
    assert "by-admin" not in by_date.content.decode()
    recent = client.get(world.settings_url("audit/"), {"date_from": now.date().isoformat()})
    assert "gone-user" not in recent.content.decode()
    empty = client.get(
        world.settings_url("audit/"), {"action": "role.update", "date_to": old_day}
    ).content.decode()
    assert "No entry matches these filters." in empty


def test_actor_filter_lists_people_who_appear_in_the_log(shared_world) -> None:
    _record(shared_world.org, shared_world.members[catalog.ADMIN].user, "role.update")
    _record(shared_world.org, None, "organization.purge")
    body = (
        shared_world.client(catalog.OWNER).get(shared_world.settings_url("audit/")).content.decode()
    )
    assert f"{shared_world.user(catalog.ADMIN).email}</option>" in body
    assert '<option value="system">System</option>' in body


def test_log_is_paginated(shared_world) -> None:
    for index in range(60):
        _record(
            shared_world.org, shared_world.org.owner, "role.update", after={"name": f"n{index}"}
        )
    client = shared_world.client(catalog.OWNER)
    first = client.get(shared_world.settings_url("audit/")).content.decode()
    assert "Page 1 of 2" in first
    second = client.get(shared_world.settings_url("audit/"), {"page": 2}).content.decode()
    assert "Page 2 of 2" in second


def test_csv_export_holds_every_filtered_entry(shared_world) -> None:
    _record(shared_world.org, shared_world.org.owner, "role.create", after={"name": "Support"})
    _record(
        shared_world.org,
        shared_world.members[catalog.ADMIN].user,
        "connection.update",
        customer=shared_world.customer,
        before={"fields": ["name"]},
    )
    client = shared_world.client(catalog.ADMIN)
    response = client.get(shared_world.settings_url("audit/export.csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == [
        "time",
        "actor",
        "action",
        "customer",
        "target_type",
        "target_id",
        "before",
        "after",
        "ip_address",
        "user_agent",
    ]
    by_action = {row[2]: row for row in rows[1:]}
    assert by_action["role.create"][1] == shared_world.user(catalog.OWNER).email
    assert by_action["role.create"][3] == "Organization-wide"
    assert by_action["role.create"][7] == '{"name": "Support"}'
    assert by_action["connection.update"][1] == shared_world.user(catalog.ADMIN).email
    assert by_action["connection.update"][3] == "Northwind"
    assert by_action["connection.update"][6] == '{"fields": ["name"]}'
    filtered = _csv(
        client.get(shared_world.settings_url("audit/export.csv"), {"action": "role.create"})
    )
    assert [row[2] for row in filtered[1:]] == ["role.create"]


def test_csv_export_neutralises_formula_cells(shared_world) -> None:
    with in_org(shared_world.org):
        from customers.services import customer_create

        evil = customer_create(
            acting_user=shared_world.org.owner, organization=shared_world.org, name="=HYPERLINK(1)"
        )
    _record(shared_world.org, shared_world.org.owner, "customer.update", customer=evil)
    rows = _csv(
        shared_world.client(catalog.OWNER).get(
            shared_world.settings_url("audit/export.csv"), {"action": "customer.update"}
        )
    )
    assert rows[1][3] == "'=HYPERLINK(1)"


def test_csv_export_excludes_other_organizations(shared_world) -> None:
    _record(
        shared_world.other_org,
        shared_world.other_org.owner,
        "role.create",
        after={"name": "GlobexSecret"},
    )
    body = (
        shared_world.client(catalog.OWNER)
        .get(shared_world.settings_url("audit/export.csv"))
        .content.decode()
    )
    assert "GlobexSecret" not in body


def test_customer_restricted_scope_cannot_read_audit_rows(shared_world) -> None:
    from tenancy.context import CUSTOMER, context

    _record(shared_world.org, shared_world.org.owner, "role.create")
    with context(
        org_id=shared_world.org.id,
        customer_id=shared_world.customer.id,
        role=CUSTOMER,
        user_id=shared_world.members[catalog.END_USER].user_id,
    ):
        assert AuditLogEntry.objects.count() == 0


# --- Same transaction ------------------------------------------------------------------------


def _xmin(table: str, row_id) -> int:
    with connections["owner"].cursor() as cursor:
        cursor.execute(f"SELECT xmin::text::bigint FROM {table} WHERE id = %s", [str(row_id)])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_audit_rows_are_written_in_the_same_transaction_as_the_change(settings) -> None:
    org = make_org("Acme")
    viewer = make_member(org, catalog.VIEWER, user=make_user("viewer@acme.test"))
    client = client_for(org.owner)
    client.post(
        f"/o/{org.slug}/settings/roles/new/",
        {"name": "Support", "permissions": ["connectors.read"]},
    )
    with in_org(org):
        role = Role.objects.get(name="Support")
        role_entry = AuditLogEntry.objects.get(action="role.create")
    client.post(f"/o/{org.slug}/settings/people/members/{viewer.id}/role/", {"role": role.id})
    with in_org(org):
        change_entry = AuditLogEntry.objects.get(action="membership.role_change")
    assert _xmin("roles_role", role.id) == _xmin("audit_auditlogentry", role_entry.id)
    assert _xmin("roles_membership", viewer.id) == _xmin("audit_auditlogentry", change_entry.id)
    assert _xmin("audit_auditlogentry", role_entry.id) != _xmin(
        "audit_auditlogentry", change_entry.id
    )


def test_a_failed_change_leaves_no_audit_row(shared_world) -> None:
    from django.core.exceptions import ValidationError

    with in_org(shared_world.org):
        with pytest.raises(ValidationError):
            role_create(
                acting_user=shared_world.org.owner,
                organization=shared_world.org,
                name="Admin",
                permissions=["connectors.read"],
            )
        assert not AuditLogEntry.objects.filter(action="role.create").exists()


# --- Staff admin -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_staff_read_the_audit_log_in_the_admin_but_cannot_change_it() -> None:
    org = make_org("Acme")
    entry = _record(org, org.owner, "role.create", after={"name": "Visible to staff"})
    staff = make_user("staff@fastn.test", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    listing = client.get("/admin/audit/auditlogentry/")
    assert listing.status_code == 200
    assert b"role.create" in listing.content
    detail = client.get(f"/admin/audit/auditlogentry/{entry.id}/change/")
    assert detail.status_code == 200
    assert b"Visible to staff" in detail.content
    assert client.post(f"/admin/audit/auditlogentry/{entry.id}/delete/").status_code == 403
    assert client.get("/admin/audit/auditlogentry/add/").status_code == 403
    for model in ("role", "membership", "invitation", "joinrequest"):
        assert client.get(f"/admin/roles/{model}/").status_code == 200, model


def test_role_edit_shows_added_and_removed_permissions(shared_world) -> None:
    with in_org(shared_world.org):
        role = role_create(
            acting_user=shared_world.org.owner,
            organization=shared_world.org,
            name="Support",
            permissions=["connectors.read", "tools.read"],
        )
        from roles.services import role_update

        role_update(
            acting_user=shared_world.org.owner,
            role=role,
            name="Support",
            permissions=["connectors.read", "agents.read"],
        )
    body = shared_world.client(catalog.OWNER).get(
        shared_world.settings_url("audit/"), {"action": "role.update"}
    )
    html = body.content.decode()
    assert "<del>tools.read</del>" in html
    assert "<ins>agents.read</ins>" in html
