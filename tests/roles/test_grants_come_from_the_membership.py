"""Console permissions come from the membership only (issue 13 item 9): guardian's superuser
shortcut used to grant a Django superuser with any membership every key, and any other group
the user sat in added its grants too."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from accounts.models import User
from roles import catalog
from roles.models import Membership
from roles.selectors import has_permission, membership_for_request
from roles.services import role_group_name
from tests.conftest import ALL_DATABASES
from tests.factories import client_for, make_member, make_user
from tests.roles.helpers import in_org
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _superuser_viewer(world: World) -> Membership:
    user = make_user("platform-admin@fastn.test", is_staff=True, is_superuser=True)
    return make_member(world.org, catalog.VIEWER, user=user)


def test_a_superuser_member_holds_only_their_roles_permissions(shared_world) -> None:
    membership = _superuser_viewer(shared_world)
    with in_org(shared_world.org):
        for key in catalog.ALL_KEYS:
            expected = key in catalog.SYSTEM_ROLES_BY_KEY[catalog.VIEWER].permissions
            assert has_permission(membership, key, shared_world.org) is expected, key
        assert not has_permission(membership, catalog.OWNER_ONLY, shared_world.org)


def test_a_superuser_member_is_refused_what_their_role_does_not_allow(shared_world) -> None:
    client = client_for(_superuser_viewer(shared_world).user)
    for path in ("people/", "billing/limits/", "api-keys/", "roles/new/", "audit/"):
        assert client.get(shared_world.settings_url(path)).status_code == 403, path
    assert client.get(shared_world.settings_url("roles/")).status_code == 200


def test_a_superuser_without_membership_is_still_an_outsider(shared_world) -> None:
    user = make_user("root@fastn.test", is_staff=True, is_superuser=True)
    assert client_for(user).get(shared_world.settings_url("roles/")).status_code == 404


def test_only_the_groups_of_the_members_own_role_count(shared_world) -> None:
    """A user left in another role's group (a stale sync) gains nothing from it."""
    viewer = shared_world.members[catalog.VIEWER]
    with in_org(shared_world.org):
        Group.objects.get(name=role_group_name(shared_world.role(catalog.ADMIN))).user_set.add(
            viewer.user
        )
        assert not has_permission(viewer, catalog.MANAGE_SETTINGS, shared_world.org)
        assert has_permission(viewer, "connectors.read", shared_world.org)


def test_a_member_taken_out_of_their_roles_group_holds_nothing(shared_world) -> None:
    viewer = shared_world.members[catalog.VIEWER]
    with in_org(shared_world.org):
        Group.objects.get(name=role_group_name(viewer.role)).user_set.remove(viewer.user)
        assert not has_permission(viewer, "connectors.read", shared_world.org)


def test_grants_are_read_once_per_request(shared_world, django_assert_max_num_queries) -> None:
    viewer = User.objects.get(id=shared_world.members[catalog.VIEWER].user_id)
    with in_org(shared_world.org):
        membership = membership_for_request(
            Membership.objects.select_related("user").get(user=viewer)
        )
        has_permission(membership, "connectors.read", shared_world.org)
        with django_assert_max_num_queries(0):
            for key in catalog.ALL_KEYS:
                has_permission(membership, key, shared_world.org)
