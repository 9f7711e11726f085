"""The narrower rules of SPEC §5.5: system roles, customer-restricted principals,
organizations, and the platform login's own policies."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connections, transaction

from build.models import Connector
from customers.models import Organization
from roles.models import Membership, Role
from tenancy.context import CUSTOMER, ORGANIZATION
from tests.isolation import probes
from tests.isolation.spec import DATA_PLANE_TABLES, SCOPED_TABLES, Placement
from tests.isolation.world import IsolationWorld, rolled_back

REGION = settings.TENANCY_REGIONS[0]


def _end_user_scope(isolation_world: IsolationWorld) -> dict[str, Any]:
    membership = isolation_world.end_user
    return {
        "org_id": membership.org_id,
        "customer_id": membership.restricted_customer_id,
        "role": CUSTOMER,
        "user_id": membership.user_id,
    }


def _refused(action: Any) -> bool:
    try:
        with transaction.atomic(using="default"):
            action()
    except DatabaseError as exc:
        return probes.classify(exc) == probes.RLS
    return False


# --- System roles ----------------------------------------------------------------------------


def test_system_roles_cannot_be_updated_or_deleted_even_organization_wide(
    isolation_world: IsolationWorld,
) -> None:
    acme = isolation_world.orgs["acme"]
    with rolled_back(org_id=acme.id, role=ORGANIZATION, user_id=acme.owner_id):
        system = Role.objects.filter(is_system=True)
        assert system.count() == 6
        assert system.update(name="Renamed") == 0
        assert probes.delete_by_ids(
            "default", "roles_role", list(system.values_list("pk", flat=True))
        ) == probes.Outcome(None, 0)
        assert Role.objects.filter(is_system=False).update(description="edited") == 1


def test_a_custom_role_cannot_be_turned_into_a_system_role(isolation_world: IsolationWorld) -> None:
    acme = isolation_world.orgs["acme"]
    with rolled_back(org_id=acme.id, role=ORGANIZATION):
        custom = Role.objects.filter(is_system=False)
        assert _refused(lambda: custom.update(is_system=True))


# --- Customer-restricted principals ----------------------------------------------------------

HIDDEN_FROM_CUSTOMER_SCOPE = [
    "roles.Invitation",
    "roles.JoinRequest",
    "api.ApiKey",
    "audit.AuditLogEntry",
]
READABLE_BY_CUSTOMER_SCOPE = [
    "build.Connector",
    "build.ConnectorVersion",
    "build.Agent",
    "build.AgentVersion",
    "build.Tool",
    "build.ToolVersion",
    "roles.Role",
]


@pytest.mark.parametrize("model", HIDDEN_FROM_CUSTOMER_SCOPE)
def test_customer_restricted_scope_cannot_read_organization_administration(
    isolation_world: IsolationWorld, model: str
) -> None:
    manager: Any = apps.get_model(model).objects
    with rolled_back(org_id=isolation_world.org_id("acme"), role=ORGANIZATION):
        assert manager.unscoped().exists()
    with rolled_back(**_end_user_scope(isolation_world)):
        assert not manager.unscoped().exists()


@pytest.mark.parametrize("model", READABLE_BY_CUSTOMER_SCOPE)
def test_customer_restricted_scope_can_read_connectors_agents_tools_and_roles(
    isolation_world: IsolationWorld, model: str
) -> None:
    manager: Any = apps.get_model(model).objects
    with rolled_back(org_id=isolation_world.org_id("acme"), role=ORGANIZATION):
        everything = set(manager.values_list("pk", flat=True))
    with rolled_back(**_end_user_scope(isolation_world)):
        assert set(manager.values_list("pk", flat=True)) == everything != set()


def test_customer_restricted_member_sees_only_their_own_memberships(
    isolation_world: IsolationWorld,
) -> None:
    with rolled_back(**_end_user_scope(isolation_world)):
        visible = set(Membership.objects.unscoped().values_list("pk", flat=True))
        mine = set(Membership.objects.of_current_user().values_list("pk", flat=True))
    assert visible == mine == {isolation_world.end_user.pk, isolation_world.end_user_elsewhere.pk}


def test_customer_restricted_member_cannot_change_their_own_membership(
    isolation_world: IsolationWorld,
) -> None:
    """Reading one's own membership (the switcher) must not let a customer-restricted member
    lift the restriction or pick another role."""
    own = isolation_world.end_user.pk
    with rolled_back(**_end_user_scope(isolation_world)):
        assert Membership.objects.unscoped().filter(pk=own).update(restricted_customer=None) == 0
        lift = "UPDATE roles_membership SET restricted_customer_id = NULL WHERE id = %s"
        assert probes.run("default", lift, [str(own)]) == probes.Outcome(None, 0)
        assert probes.delete_by_ids("default", "roles_membership", [own]) == probes.Outcome(None, 0)
        copy = probes.with_patch(
            probes.rows_as_owner(isolation_world, Placement(SCOPED_TABLES["roles_membership"]))[0],
            {
                "id": uuid.uuid4(),
                "user_id": isolation_world.end_user.user_id,
                "org_id": isolation_world.org_id("acme"),
                "restricted_customer_id": None,
            },
        )
        assert probes.insert("default", "roles_membership", copy).refused_by_rls


def test_customer_restricted_scope_cannot_write_roles_or_connectors(
    isolation_world: IsolationWorld,
) -> None:
    org = isolation_world.orgs["acme"]
    with rolled_back(**_end_user_scope(isolation_world)):
        assert _refused(lambda: Role.objects.create(org=org, name="Sneaky", permissions=[]))
        assert Role.objects.filter(is_system=False).update(description="x") == 0


def test_organization_wide_scope_of_the_same_member_reads_everything(
    isolation_world: IsolationWorld,
) -> None:
    acme = isolation_world.orgs["acme"]
    with rolled_back(org_id=acme.id, role=ORGANIZATION, user_id=acme.owner_id):
        assert Membership.objects.count() == 3
        assert Connector.objects.exists()


# --- Organizations ---------------------------------------------------------------------------


def test_every_organization_is_readable_without_a_context(isolation_world: IsolationWorld) -> None:
    names = set(Organization.objects.values_list("name", flat=True))
    assert {"Acme Isolation", "Globex Isolation"} <= names


def test_only_the_organization_in_context_can_be_written(isolation_world: IsolationWorld) -> None:
    acme, globex = isolation_world.orgs["acme"], isolation_world.orgs["globex"]
    with rolled_back(org_id=acme.id, role=ORGANIZATION):
        assert Organization.objects.filter(pk=acme.pk).update(name="Acme Renamed") == 1
        assert Organization.objects.filter(pk=globex.pk).update(name="Taken") == 0
        assert Organization.objects.filter(pk=globex.pk).delete()[0] == 0
        intruder = Organization(
            id=uuid.uuid4(),
            name="Intruder",
            slug=f"intruder-{uuid.uuid4().hex[:8]}",
            plan_id=acme.plan_id,
            owner_id=acme.owner_id,
        )
        assert _refused(lambda: intruder.save(force_insert=True))


# --- The platform login ----------------------------------------------------------------------

DATA_PLACEMENTS = [
    Placement(t, region) for t in DATA_PLANE_TABLES for region in settings.TENANCY_REGIONS
]


@pytest.mark.parametrize("placement", DATA_PLACEMENTS, ids=lambda p: p.id)
def test_platform_reads_every_data_plane_row_but_cannot_write_any(
    isolation_world: IsolationWorld, placement: Placement
) -> None:
    alias, table = placement.platform_alias, placement.table.name
    rows = probes.rows_as_owner(isolation_world, placement)
    ids = [row["id"] for row in rows]
    with transaction.atomic(using=alias):
        assert probes.visible_ids(alias, table) == set(ids)
        assert probes.update_by_ids(alias, table, ids) == probes.Outcome(None, 0)
        assert probes.delete_by_ids(alias, table, ids) == probes.Outcome(None, 0)
        copy = probes.with_patch(rows[0], {"id": uuid.uuid4()})
        assert probes.insert(alias, table, copy).refused_by_rls
        transaction.set_rollback(True, using=alias)


def test_platform_reads_and_writes_every_control_plane_row(isolation_world: IsolationWorld) -> None:
    with transaction.atomic(using="platform"):
        count = probes.count("platform", "customers_customer")
        assert count == probes.count("owner", "customers_customer") == 9
        assert (
            probes.update_by_ids(
                "platform",
                "customers_customer",
                [r[0] for r in probes.fetch("owner", "SELECT id FROM customers_customer")],
            ).rows
            == count
        )
        transaction.set_rollback(True, using="platform")
    with connections["platform"].cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == "fastn_platform"
