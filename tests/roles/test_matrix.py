"""Each of the six system roles × every guarded page: allowed pages open, the others are 403
(404 for the customer-restricted End User, who sees only their customer), and the links and
buttons leading to them are not rendered."""

from __future__ import annotations

import pytest

from roles import catalog
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

OWNER_ONLY = "owner"
PAGES = [
    ("roles/", None),
    ("roles/new/", "organization.manage_roles"),
    ("people/", "organization.manage_members"),
    ("people/invite/", "organization.manage_members"),
    ("people/invitations/", "organization.manage_members"),
    ("people/join-requests/", "organization.manage_members"),
    ("people/transfer-ownership/", OWNER_ONLY),
    ("audit/", "organization.manage_members"),
    ("audit/export.csv", "organization.manage_members"),
]
ROLES = [role.key for role in catalog.SYSTEM_ROLES]


def _expected(role_key: str, key: str | None) -> int:
    if role_key == catalog.END_USER:
        return 404
    if key is None:
        return 200
    if key == OWNER_ONLY:
        return 200 if role_key == catalog.OWNER else 403
    return 200 if key in catalog.SYSTEM_ROLES_BY_KEY[role_key].permissions else 403


@pytest.mark.parametrize("role_key", ROLES)
def test_every_guarded_page_for_every_system_role(shared_world, role_key) -> None:
    client = shared_world.client(role_key)
    results = {path: client.get(shared_world.settings_url(path)).status_code for path, _ in PAGES}
    assert results == {path: _expected(role_key, key) for path, key in PAGES}


@pytest.mark.parametrize("role_key", [k for k in ROLES if k != catalog.END_USER])
def test_links_and_buttons_follow_the_same_matrix(shared_world, role_key) -> None:
    client = shared_world.client(role_key)
    held = catalog.SYSTEM_ROLES_BY_KEY[role_key].permissions
    roles_page = client.get(shared_world.settings_url("roles/")).content.decode()
    assert ("Create Custom Role" in roles_page) == ("organization.manage_roles" in held)
    assert ("Duplicate as Custom" in roles_page) == ("organization.manage_roles" in held)
    manages_members = "organization.manage_members" in held
    assert (f'href="/o/{shared_world.org.slug}/settings/people/"' in roles_page) == manages_members
    assert (f'href="/o/{shared_world.org.slug}/settings/audit/"' in roles_page) == manages_members
    if manages_members:
        people = client.get(shared_world.settings_url("people/")).content.decode()
        assert ("Transfer ownership" in people) == (role_key == catalog.OWNER)
