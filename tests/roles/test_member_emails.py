"""Member emails appear only to principals allowed to see people (``organization.manage_members``,
issue 13 item 7): the role pages, the role deletion refusal and the API keys list used to name
every member to anyone who could open them."""

from __future__ import annotations

import pytest

from api.services import api_key_create
from roles import catalog
from roles.models import Membership, Role
from roles.services import invitation_create
from tests.conftest import ALL_DATABASES
from tests.factories import client_for
from tests.roles.helpers import custom_role, in_org, member_holding
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _others(world: World, own_email: str) -> set[str]:
    """Every world address but the reader's own (the top bar shows that one)."""
    return {member.user.email for member in world.members.values()} - {own_email}


def _system_roles(world: World) -> list[Role]:
    with in_org(world.org):
        return list(Role.objects.filter(is_system=True))


@pytest.mark.parametrize("key", [catalog.VIEWER, catalog.DEVELOPER, catalog.OPERATOR])
def test_members_refused_the_people_page_see_no_email_on_any_role_page(shared_world, key) -> None:
    client = shared_world.client(key)
    assert client.get(shared_world.settings_url("people/")).status_code == 403
    own = shared_world.members[key].user.email
    for role in _system_roles(shared_world):
        page = client.get(shared_world.settings_url(f"roles/{role.id}/"))
        assert page.status_code == 200
        leaked = {email for email in _others(shared_world, own) if email in page.content.decode()}
        assert leaked == set(), f"{role.name} page names {leaked}"
    listing = client.get(shared_world.settings_url("roles/")).content.decode()
    assert not {email for email in _others(shared_world, own) if email in listing}


def test_the_role_page_still_counts_members_for_everyone(shared_world) -> None:
    viewer_role = shared_world.role(catalog.VIEWER)
    page = shared_world.client(catalog.VIEWER).get(
        shared_world.settings_url(f"roles/{viewer_role.id}/")
    )
    assert "1 member" in page.content.decode()


def test_members_who_manage_people_see_who_holds_a_role(shared_world) -> None:
    page = shared_world.client(catalog.ADMIN).get(
        shared_world.settings_url(f"roles/{shared_world.role(catalog.VIEWER).id}/")
    )
    assert shared_world.user(catalog.VIEWER).email in page.content.decode()


def _roles_manager(world: World) -> Membership:
    """May manage roles and nothing about people."""
    role = custom_role(world, "Roles only", {catalog.MANAGE_ROLES, "connectors.read"})
    return member_holding(world, role, "roles-only@acme.test")


def test_a_roles_manager_deleting_an_assigned_role_learns_no_email(shared_world) -> None:
    manager = _roles_manager(shared_world)
    support = custom_role(shared_world, "Support", {"connectors.read"})
    member_holding(shared_world, support, "holder@acme.test")
    with in_org(shared_world.org):
        invitation_create(
            acting_user=shared_world.org.owner,
            organization=shared_world.org,
            email="invitee@acme.test",
            role=support,
            link_base="http://testserver/",
        )
    client = client_for(manager.user)
    page = client.get(shared_world.settings_url(f"roles/{support.id}/delete/")).content.decode()
    assert "holder@acme.test" not in page
    assert "1 member" in page
    refused = client.post(shared_world.settings_url(f"roles/{support.id}/delete/"))
    assert refused.status_code == 409
    text = refused.content.decode()
    assert "holder@acme.test" not in text and "invitee@acme.test" not in text
    assert "Support is still assigned to 1 member" in text
    with in_org(shared_world.org):
        assert Role.objects.filter(id=support.id).exists()


def test_the_api_keys_list_names_its_creators_only_to_those_who_see_people(shared_world) -> None:
    settings_role = custom_role(shared_world, "Settings only", {catalog.MANAGE_SETTINGS})
    keeper = member_holding(shared_world, settings_role, "keys@acme.test")
    with in_org(shared_world.org):
        api_key_create(
            acting_user=shared_world.org.owner,
            membership=shared_world.members[catalog.OWNER],
            organization=shared_world.org,
            name="Backend",
            role=shared_world.role(catalog.VIEWER),
            all_customers=True,
            customers=[],
        )
    listing = client_for(keeper.user).get(shared_world.settings_url("api-keys/"))
    assert listing.status_code == 200
    assert "Backend" in listing.content.decode()
    assert shared_world.user(catalog.OWNER).email not in listing.content.decode()
    admin_listing = shared_world.client(catalog.ADMIN).get(shared_world.settings_url("api-keys/"))
    assert shared_world.user(catalog.OWNER).email in admin_listing.content.decode()
