"""The catalog, the six system roles and their guardian grants (SPEC §4)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connections
from guardian.models import GroupObjectPermission

from customers.models import Organization
from roles import catalog
from roles.models import Role
from roles.selectors import has_permission
from roles.services import role_group_name
from tests.conftest import ALL_DATABASES
from tests.factories import make_org
from tests.roles.helpers import in_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

EXPECTED_COUNTS = {
    catalog.OWNER: 39,
    catalog.ADMIN: 39,
    catalog.DEVELOPER: 34,
    catalog.OPERATOR: 18,
    catalog.VIEWER: 7,
    catalog.END_USER: 9,
}


def test_database_holds_exactly_the_39_organization_permissions() -> None:
    codenames = set(
        Permission.objects.filter(
            content_type__app_label="customers", content_type__model="organization"
        ).values_list("codename", flat=True)
    )
    assert len(codenames) == 39
    assert codenames == {catalog.codename(key) for key in catalog.ALL_KEYS}


def test_catalog_has_nine_categories_with_the_specified_sizes() -> None:
    sizes = {label: len(items) for label, items in catalog.by_category()}
    assert sizes == {
        "Connectors": 6,
        "Connections": 6,
        "Workflows": 7,
        "Agents": 5,
        "Tools": 5,
        "Customers": 4,
        "Executions": 1,
        "Organization": 3,
        "Billing": 2,
    }
    assert all(permission.description for permission in catalog.PERMISSIONS)


def test_new_organization_gets_the_six_system_roles_with_exact_counts() -> None:
    org = make_org()
    with in_org(org):
        roles = {role.system_key: role for role in Role.objects.filter(is_system=True)}
    assert {key: len(role.permissions) for key, role in roles.items()} == EXPECTED_COUNTS
    for key, role in roles.items():
        assert set(role.permissions) == catalog.SYSTEM_ROLES_BY_KEY[key].permissions
    assert roles[catalog.END_USER].customer_restricted


def test_system_role_sets_follow_the_specified_chain() -> None:
    sets = {role.key: set(role.permissions) for role in catalog.SYSTEM_ROLES}
    assert sets[catalog.VIEWER] < sets[catalog.OPERATOR] < sets[catalog.DEVELOPER]
    assert sets[catalog.DEVELOPER] < sets[catalog.ADMIN] == sets[catalog.OWNER]
    assert sets[catalog.END_USER] < sets[catalog.OPERATOR]
    assert sets[catalog.ADMIN] - sets[catalog.DEVELOPER] == {
        "organization.manage_members",
        "organization.manage_roles",
        "organization.manage_settings",
        "billing.read",
        "billing.manage",
    }


def test_each_system_role_group_holds_exactly_its_permissions_on_its_organization() -> None:
    org = make_org()
    with in_org(org):
        roles = list(Role.objects.filter(is_system=True))
    for role in roles:
        group = Group.objects.get(name=role_group_name(role))
        granted = set(
            GroupObjectPermission.objects.filter(group=group, object_pk=str(org.id)).values_list(
                "permission__codename", flat=True
            )
        )
        assert granted == {catalog.codename(key) for key in role.permissions}


def test_group_names_are_opaque_ids() -> None:
    org = make_org(name="Secret Name Inc")
    with in_org(org):
        role = Role.objects.get(system_key=catalog.ADMIN)
    assert role_group_name(role) == f"org:{org.id}:role:{role.id}"


def test_system_roles_cannot_be_changed_or_deleted_in_the_database() -> None:
    org = make_org()
    with in_org(org):
        role = Role.objects.get(system_key=catalog.VIEWER)
        with connections["default"].cursor() as cursor:
            cursor.execute("UPDATE roles_role SET name = 'Hacked' WHERE id = %s", [str(role.id)])
            assert cursor.rowcount == 0
            cursor.execute("DELETE FROM roles_role WHERE id = %s", [str(role.id)])
            assert cursor.rowcount == 0
        assert Role.objects.get(id=role.id).name == "Viewer"


def test_owner_only_key_compares_the_organization_owner(shared_world) -> None:
    org = shared_world.org
    with in_org(org):
        organization = Organization.objects.get(id=org.id)
        assert has_permission(
            shared_world.members[catalog.OWNER], "organization.owner", organization
        )
        assert not has_permission(
            shared_world.members[catalog.ADMIN], "organization.owner", organization
        )


def test_unknown_key_is_a_programming_error(shared_world) -> None:
    with in_org(shared_world.org):
        with pytest.raises(ValueError):
            has_permission(shared_world.members[catalog.OWNER], "roles.read", shared_world.org)
