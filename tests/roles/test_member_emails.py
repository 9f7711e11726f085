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
from tests.roles.conftest import Team, client_for, in_org
from tests.roles.helpers import custom_role, member_holding

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

TEAM_EMAILS = {
    "owner@acme.test",
    "admin@acme.test",
    "developer@acme.test",
    "operator@acme.test",
    "viewer@acme.test",
    "enduser@acme.test",
}


def _others(own_email: str) -> set[str]:
    """Every team address but the reader's own (the top bar shows that one)."""
    return TEAM_EMAILS - {own_email}


def _system_roles(team: Team) -> list[Role]:
    with in_org(team.org):
        return list(Role.objects.filter(is_system=True))


@pytest.mark.parametrize("key", [catalog.VIEWER, catalog.DEVELOPER, catalog.OPERATOR])
def test_members_refused_the_people_page_see_no_email_on_any_role_page(team, key) -> None:
    client = team.client(key)
    assert client.get(team.url("people/")).status_code == 403
    own = team.members[key].user.email
    for role in _system_roles(team):
        page = client.get(team.url(f"roles/{role.id}/"))
        assert page.status_code == 200
        leaked = {email for email in _others(own) if email in page.content.decode()}
        assert leaked == set(), f"{role.name} page names {leaked}"
    listing = client.get(team.url("roles/")).content.decode()
    assert not {email for email in _others(own) if email in listing}


def test_the_role_page_still_counts_members_for_everyone(team) -> None:
    viewer_role = team.role(catalog.VIEWER)
    page = team.client(catalog.VIEWER).get(team.url(f"roles/{viewer_role.id}/"))
    assert "1 member" in page.content.decode()


def test_members_who_manage_people_see_who_holds_a_role(team) -> None:
    page = team.client(catalog.ADMIN).get(team.url(f"roles/{team.role(catalog.VIEWER).id}/"))
    assert "viewer@acme.test" in page.content.decode()


def _roles_manager(team: Team) -> Membership:
    """May manage roles and nothing about people."""
    role = custom_role(team, "Roles only", {catalog.MANAGE_ROLES, "connectors.read"})
    return member_holding(team, role, "roles-only@acme.test")


def test_a_roles_manager_deleting_an_assigned_role_learns_no_email(team) -> None:
    manager = _roles_manager(team)
    support = custom_role(team, "Support", {"connectors.read"})
    member_holding(team, support, "holder@acme.test")
    with in_org(team.org):
        invitation_create(
            acting_user=team.org.owner,
            organization=team.org,
            email="invitee@acme.test",
            role=support,
            link_base="http://testserver/",
        )
    client = client_for(manager.user)
    page = client.get(team.url(f"roles/{support.id}/delete/")).content.decode()
    assert "holder@acme.test" not in page
    assert "1 member" in page
    refused = client.post(team.url(f"roles/{support.id}/delete/"))
    assert refused.status_code == 409
    text = refused.content.decode()
    assert "holder@acme.test" not in text and "invitee@acme.test" not in text
    assert "Support is still assigned to 1 member" in text
    with in_org(team.org):
        assert Role.objects.filter(id=support.id).exists()


def test_the_api_keys_list_names_its_creators_only_to_those_who_see_people(team) -> None:
    settings_role = custom_role(team, "Settings only", {catalog.MANAGE_SETTINGS})
    keeper = member_holding(team, settings_role, "keys@acme.test")
    with in_org(team.org):
        api_key_create(
            acting_user=team.org.owner,
            membership=team.members[catalog.OWNER],
            organization=team.org,
            name="Backend",
            role=team.role(catalog.VIEWER),
            all_customers=True,
            customers=[],
        )
    listing = client_for(keeper.user).get(team.url("api-keys/"))
    assert listing.status_code == 200
    assert "Backend" in listing.content.decode()
    assert "owner@acme.test" not in listing.content.decode()
    admin_listing = team.client(catalog.ADMIN).get(team.url("api-keys/"))
    assert "owner@acme.test" in admin_listing.content.decode()
