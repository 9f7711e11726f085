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
from tests.factories import make_member, make_user
from tests.roles.conftest import Team, client_for, in_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _superuser_viewer(team: Team) -> Membership:
    user = make_user("platform-admin@fastn.test", is_staff=True, is_superuser=True)
    return make_member(team.org, catalog.VIEWER, user=user)


def test_a_superuser_member_holds_only_their_roles_permissions(team) -> None:
    membership = _superuser_viewer(team)
    with in_org(team.org):
        for key in catalog.ALL_KEYS:
            expected = key in catalog.SYSTEM_ROLES_BY_KEY[catalog.VIEWER].permissions
            assert has_permission(membership, key, team.org) is expected, key
        assert not has_permission(membership, catalog.OWNER_ONLY, team.org)


def test_a_superuser_member_is_refused_what_their_role_does_not_allow(team) -> None:
    client = client_for(_superuser_viewer(team).user)
    for path in ("people/", "billing/limits/", "api-keys/", "roles/new/", "audit/"):
        assert client.get(team.url(path)).status_code == 403, path
    assert client.get(team.url("roles/")).status_code == 200


def test_a_superuser_without_membership_is_still_an_outsider(team) -> None:
    user = make_user("root@fastn.test", is_staff=True, is_superuser=True)
    assert client_for(user).get(team.url("roles/")).status_code == 404


def test_only_the_groups_of_the_members_own_role_count(team) -> None:
    """A user left in another role's group (a stale sync) gains nothing from it."""
    viewer = team.members[catalog.VIEWER]
    with in_org(team.org):
        Group.objects.get(name=role_group_name(team.role(catalog.ADMIN))).user_set.add(viewer.user)
        assert not has_permission(viewer, catalog.MANAGE_SETTINGS, team.org)
        assert has_permission(viewer, "connectors.read", team.org)


def test_a_member_taken_out_of_their_roles_group_holds_nothing(team) -> None:
    viewer = team.members[catalog.VIEWER]
    with in_org(team.org):
        Group.objects.get(name=role_group_name(viewer.role)).user_set.remove(viewer.user)
        assert not has_permission(viewer, "connectors.read", team.org)


def test_grants_are_read_once_per_request(team, django_assert_max_num_queries) -> None:
    viewer = User.objects.get(id=team.members[catalog.VIEWER].user_id)
    with in_org(team.org):
        membership = membership_for_request(
            Membership.objects.select_related("user").get(user=viewer)
        )
        has_permission(membership, "connectors.read", team.org)
        with django_assert_max_num_queries(0):
            for key in catalog.ALL_KEYS:
                has_permission(membership, key, team.org)
