"""Settings → People: members, invitations, role changes, removal, join requests, ownership
transfer, and the Owner rules of SPEC §4."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from audit.models import AuditLogEntry
from customers.models import Organization
from roles import catalog
from roles.models import (
    Invitation,
    InvitationStatus,
    JoinRequest,
    JoinRequestStatus,
    Membership,
)
from roles.selectors import has_permission
from roles.services import (
    invitation_create,
    membership_role_change,
    role_group_name,
)
from tests.conftest import ALL_DATABASES
from tests.factories import client_for, make_member, make_user
from tests.roles.helpers import custom_role, in_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

MANAGERS = [catalog.OWNER, catalog.ADMIN]
NON_MANAGERS = [catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER]


def _invite(world, email="new@acme.test", role_key=catalog.DEVELOPER, org=None) -> Invitation:
    org = org or world.org
    with in_org(org):
        from roles.models import Role

        role = Role.objects.get(system_key=role_key)
        return invitation_create(
            acting_user=org.owner,
            organization=org,
            email=email,
            role=role,
            link_base="http://testserver/",
        )


def _join_request(org, email="applicant@acme.test", user=None) -> JoinRequest:
    with in_org(org):
        return JoinRequest.objects.create(org=org, email=email, full_name="Applicant", user=user)


def _membership(world, key) -> Membership:
    with in_org(world.org):
        return Membership.objects.select_related("role").get(id=world.members[key].id)


def _in_group(membership: Membership, role) -> bool:
    return (
        Group.objects.get(name=role_group_name(role))
        .user_set.filter(id=membership.user_id)
        .exists()
    )


def _limited_manager(world, key=catalog.OPERATOR, name="People manager"):
    """The client of the ``key`` member, moved to a role that manages members but lacks
    billing.manage (a role below Admin)."""
    limited = custom_role(world, name, catalog.ALL_KEYS - {"billing.manage"})
    with in_org(world.org):
        membership_role_change(
            acting_user=world.org.owner, membership=world.members[key], role=limited
        )
    return world.client(key)


def _change_role(client, world, membership: Membership, role_key: str, **extra):
    """POST the change-role form of ``membership``: the system role ``role_key``."""
    return client.post(
        world.settings_url(f"people/members/{membership.id}/role/"),
        {"role": world.role(role_key).id, **extra},
    )


def _remove(client, world, membership: Membership):
    return client.post(world.settings_url(f"people/members/{membership.id}/remove/"))


# --- The members list ------------------------------------------------------------------------


@pytest.mark.parametrize("key", MANAGERS)
def test_members_with_manage_members_see_people(shared_world, key) -> None:
    response = shared_world.client(key).get(shared_world.settings_url("people/"))
    body = response.content.decode()
    assert response.status_code == 200
    for member in (catalog.OWNER, catalog.VIEWER, catalog.END_USER):
        assert shared_world.user(member).email in body
    assert "Northwind" in body  # the End User's customer restriction
    assert "Organization-wide" in body
    assert "Invite User" in body


@pytest.mark.parametrize("key", NON_MANAGERS)
def test_members_without_manage_members_cannot_see_people(shared_world, key) -> None:
    client = shared_world.client(key)
    for path in ("people/", "people/invitations/", "people/join-requests/", "people/invite/"):
        assert client.get(shared_world.settings_url(path)).status_code == 403


def test_people_link_is_in_the_nav_only_for_managers(shared_world) -> None:
    people = f'href="/o/{shared_world.org.slug}/settings/people/"'.encode()
    assert (
        people
        in shared_world.client(catalog.ADMIN).get(shared_world.settings_url("roles/")).content
    )
    assert (
        people
        not in shared_world.client(catalog.DEVELOPER)
        .get(shared_world.settings_url("roles/"))
        .content
    )


def test_people_search_and_pagination(shared_world) -> None:
    for index in range(30):
        make_member(shared_world.org, catalog.VIEWER, user=make_user(f"bulk{index:02}@acme.test"))
    client = shared_world.client(catalog.ADMIN)
    first = client.get(shared_world.settings_url("people/")).content.decode()
    assert "Page 1 of 2" in first
    found = client.get(shared_world.settings_url("people/"), {"q": "bulk07"}).content.decode()
    assert "bulk07@acme.test" in found and "bulk08@acme.test" not in found
    assert (
        "No member matches"
        in client.get(shared_world.settings_url("people/"), {"q": "nobody"}).content.decode()
    )


def test_owner_row_offers_no_change_or_remove(shared_world) -> None:
    owner = shared_world.members[catalog.OWNER]
    admin = shared_world.members[catalog.ADMIN]
    body = (
        shared_world.client(catalog.ADMIN)
        .get(shared_world.settings_url("people/"))
        .content.decode()
    )
    assert f"members/{owner.id}/role/" not in body
    assert f"members/{admin.id}/role/" not in body  # your own row
    assert f"members/{shared_world.members[catalog.VIEWER].id}/role/" in body


def test_transfer_button_is_shown_only_to_the_owner(shared_world) -> None:
    assert (
        b"Transfer ownership"
        in shared_world.client(catalog.OWNER).get(shared_world.settings_url("people/")).content
    )
    assert (
        b"Transfer ownership"
        not in shared_world.client(catalog.ADMIN).get(shared_world.settings_url("people/")).content
    )


# --- Invitations -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", MANAGERS)
def test_managers_can_invite_and_the_email_is_sent(
    shared_world, key, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    role = shared_world.role(catalog.DEVELOPER)
    with django_capture_on_commit_callbacks(execute=True):
        response = shared_world.client(key).post(
            shared_world.settings_url("people/invite/"), {"email": "New@Acme.test", "role": role.id}
        )
    assert response.status_code == 302
    with in_org(shared_world.org):
        invitation = Invitation.objects.get(email="new@acme.test")
        assert invitation.status == InvitationStatus.PENDING
        assert AuditLogEntry.objects.get(action="invitation.create").after["role"] == "Developer"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new@acme.test"]
    assert "http://testserver/invitations/" in mailoutbox[0].body
    assert "Acme" in mailoutbox[0].subject


@pytest.mark.parametrize("key", NON_MANAGERS)
def test_members_without_manage_members_cannot_invite(shared_world, key, mailoutbox) -> None:
    role = shared_world.role(catalog.VIEWER)
    response = shared_world.client(key).post(
        shared_world.settings_url("people/invite/"), {"email": "new@acme.test", "role": role.id}
    )
    assert response.status_code == 403
    with in_org(shared_world.org):
        assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_owner_role_is_not_in_any_choice_list(shared_world) -> None:
    owner_role = shared_world.role(catalog.OWNER)
    viewer = shared_world.members[catalog.VIEWER]
    join_request = _join_request(shared_world.org)
    client = shared_world.client(catalog.OWNER)
    for path in (
        "people/invite/",
        f"people/members/{viewer.id}/role/",
        f"people/join-requests/{join_request.id}/accept/",
    ):
        body = client.get(shared_world.settings_url(path)).content.decode()
        assert f'value="{owner_role.id}"' not in body
        assert f'value="{shared_world.role(catalog.ADMIN).id}"' in body


def test_inviting_as_owner_is_refused(shared_world, mailoutbox) -> None:
    owner_role = shared_world.role(catalog.OWNER)
    response = shared_world.client(catalog.OWNER).post(
        shared_world.settings_url("people/invite/"),
        {"email": "new@acme.test", "role": owner_role.id},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    with in_org(shared_world.org):
        assert not Invitation.objects.exists()


def test_end_user_invitation_requires_a_customer(shared_world) -> None:
    role = shared_world.role(catalog.END_USER)
    client = shared_world.client(catalog.ADMIN)
    missing = client.post(
        shared_world.settings_url("people/invite/"), {"email": "eu@acme.test", "role": role.id}
    )
    assert missing.status_code == 200
    assert "Choose the customer a End User is limited to." in missing.content.decode()
    ok = client.post(
        shared_world.settings_url("people/invite/"),
        {"email": "eu@acme.test", "role": role.id, "restricted_customer": shared_world.customer.id},
    )
    assert ok.status_code == 302
    with in_org(shared_world.org):
        invitation = Invitation.objects.get(email="eu@acme.test")
        assert invitation.restricted_customer_id == shared_world.customer.id
        entry = AuditLogEntry.objects.get(action="invitation.create")
        assert entry.subject_customer_id == shared_world.customer.id


def test_inviting_an_existing_member_is_a_form_error(shared_world) -> None:
    role, viewer_email = shared_world.role(catalog.VIEWER), shared_world.user(catalog.VIEWER).email
    response = shared_world.client(catalog.ADMIN).post(
        shared_world.settings_url("people/invite/"), {"email": viewer_email, "role": role.id}
    )
    assert f"{viewer_email} is already a member." in response.content.decode()


def test_member_cannot_invite_with_a_role_above_their_own(shared_world) -> None:
    client = _limited_manager(shared_world, catalog.VIEWER, "Limited admin")
    body = client.get(shared_world.settings_url("people/invite/")).content.decode()
    assert f'value="{shared_world.role(catalog.ADMIN).id}"' not in body
    assert f'value="{shared_world.role(catalog.DEVELOPER).id}"' in body
    response = client.post(
        shared_world.settings_url("people/invite/"),
        {"email": "x@acme.test", "role": shared_world.role(catalog.ADMIN).id},
    )
    assert response.status_code == 200
    with in_org(shared_world.org):
        assert not Invitation.objects.exists()


def test_invitation_list_shows_pending_invitations_with_actions(shared_world) -> None:
    invitation = _invite(shared_world)
    body = (
        shared_world.client(catalog.ADMIN)
        .get(shared_world.settings_url("people/invitations/"))
        .content.decode()
    )
    assert "new@acme.test" in body
    assert f"invitations/{invitation.id}/resend/" in body
    assert f"invitations/{invitation.id}/revoke/" in body


@pytest.fixture
def resend(shared_world, django_capture_on_commit_callbacks):
    """Resends a fresh invitation as the member holding a given role, with the emails that
    sends; returns the invitation (as it was before) and the response."""

    def resend_as(key):
        invitation = _invite(shared_world)
        with django_capture_on_commit_callbacks(execute=True):
            response = shared_world.client(key).post(
                shared_world.settings_url(f"people/invitations/{invitation.id}/resend/")
            )
        return invitation, response

    return resend_as


@pytest.mark.parametrize("key", MANAGERS)
def test_managers_can_resend_an_invitation(shared_world, key, mailoutbox, resend) -> None:
    invitation, response = resend(key)
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    with in_org(shared_world.org):
        assert AuditLogEntry.objects.filter(action="invitation.resend").count() == 1
        assert Invitation.objects.get(id=invitation.id).expires_at > invitation.expires_at


@pytest.mark.parametrize("key", NON_MANAGERS)
def test_members_without_manage_members_cannot_resend(key, mailoutbox, resend) -> None:
    _, response = resend(key)
    assert response.status_code == 403
    assert mailoutbox == []


def _revoke_an_invitation(world, key):
    """A fresh invitation revoked by the ``key`` member: the response, the invitation after."""
    invitation = _invite(world)
    response = world.client(key).post(
        world.settings_url(f"people/invitations/{invitation.id}/revoke/")
    )
    with in_org(world.org):
        return response, Invitation.objects.get(id=invitation.id)


def test_resend_and_revoke_accept_only_post(shared_world) -> None:
    invitation = _invite(shared_world)
    client = shared_world.client(catalog.ADMIN)
    assert (
        client.get(
            shared_world.settings_url(f"people/invitations/{invitation.id}/revoke/")
        ).status_code
        == 405
    )
    assert (
        client.get(
            shared_world.settings_url(f"people/invitations/{invitation.id}/resend/")
        ).status_code
        == 405
    )


# --- Change role -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", MANAGERS)
def test_managers_can_change_a_members_role_and_groups_follow(shared_world, key) -> None:
    viewer = _membership(shared_world, catalog.VIEWER)
    developer_role = shared_world.role(catalog.DEVELOPER)
    response = _change_role(shared_world.client(key), shared_world, viewer, catalog.DEVELOPER)
    assert response.status_code == 302
    changed = _membership(shared_world, catalog.VIEWER)
    assert changed.role_id == developer_role.id
    assert _in_group(changed, developer_role)
    assert not _in_group(changed, viewer.role)
    with in_org(shared_world.org):
        assert has_permission(changed, "workflows.create", shared_world.org)
        entry = AuditLogEntry.objects.get(action="membership.role_change")
    assert entry.before["role"] == "Viewer" and entry.after["role"] == "Developer"
    assert entry.after["customer"] == "Organization-wide"


@pytest.mark.parametrize("key", NON_MANAGERS)
def test_members_without_manage_members_cannot_change_roles(shared_world, key) -> None:
    target = shared_world.members[catalog.OPERATOR if key != catalog.OPERATOR else catalog.VIEWER]
    response = _change_role(shared_world.client(key), shared_world, target, catalog.ADMIN)
    assert response.status_code == 403
    with in_org(shared_world.org):
        assert Membership.objects.get(id=target.id).role_id == target.role_id


def test_nobody_changes_their_own_role(shared_world) -> None:
    admin = shared_world.members[catalog.ADMIN]
    client = shared_world.client(catalog.ADMIN)
    assert (
        client.get(shared_world.settings_url(f"people/members/{admin.id}/role/")).status_code == 403
    )
    response = _change_role(client, shared_world, admin, catalog.VIEWER)
    assert response.status_code == 403
    assert _membership(shared_world, catalog.ADMIN).role.system_key == catalog.ADMIN


@pytest.mark.parametrize(
    ("actor", "new_role"),
    [(catalog.OWNER, catalog.ADMIN), (catalog.ADMIN, catalog.VIEWER)],
    ids=["owner-changes-their-own-role", "admin-demotes-the-owner"],
)
def test_nobody_changes_the_owners_role(shared_world, actor, new_role) -> None:
    response = _change_role(
        shared_world.client(actor), shared_world, shared_world.members[catalog.OWNER], new_role
    )
    assert response.status_code == 403
    assert _membership(shared_world, catalog.OWNER).role.system_key == catalog.OWNER


def test_nobody_assigns_the_owner_role_by_changing_roles(shared_world) -> None:
    viewer = shared_world.members[catalog.VIEWER]
    response = _change_role(shared_world.client(catalog.OWNER), shared_world, viewer, catalog.OWNER)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert _membership(shared_world, catalog.VIEWER).role.system_key == catalog.VIEWER


def test_changing_to_end_user_requires_a_customer(shared_world) -> None:
    viewer = shared_world.members[catalog.VIEWER]
    client = shared_world.client(catalog.ADMIN)
    missing = _change_role(client, shared_world, viewer, catalog.END_USER)
    assert "Choose the customer" in missing.content.decode()
    ok = _change_role(
        client, shared_world, viewer, catalog.END_USER, restricted_customer=shared_world.customer.id
    )
    assert ok.status_code == 302
    assert (
        _membership(shared_world, catalog.VIEWER).restricted_customer_id == shared_world.customer.id
    )


def test_nobody_assigns_a_role_above_their_own(shared_world) -> None:
    client = _limited_manager(shared_world)
    viewer = shared_world.members[catalog.VIEWER]
    response = _change_role(client, shared_world, viewer, catalog.ADMIN)
    assert response.status_code == 200
    assert _membership(shared_world, catalog.VIEWER).role.system_key == catalog.VIEWER
    allowed = _change_role(client, shared_world, viewer, catalog.DEVELOPER)
    assert allowed.status_code == 302


def test_nobody_changes_or_removes_a_member_whose_role_is_above_their_own(shared_world) -> None:
    client = _limited_manager(shared_world)
    admin = shared_world.members[catalog.ADMIN]
    assert _change_role(client, shared_world, admin, catalog.VIEWER).status_code == 403
    assert _remove(client, shared_world, admin).status_code == 403
    assert _membership(shared_world, catalog.ADMIN).role.system_key == catalog.ADMIN


# --- Remove ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", MANAGERS)
def test_managers_can_remove_a_member_and_their_group_membership(shared_world, key) -> None:
    viewer = _membership(shared_world, catalog.VIEWER)
    response = _remove(shared_world.client(key), shared_world, viewer)
    assert response.status_code == 302
    with in_org(shared_world.org):
        assert not Membership.objects.filter(id=viewer.id).exists()
        assert AuditLogEntry.objects.get(action="membership.remove").before["user"] == (
            shared_world.user(catalog.VIEWER).email
        )
    assert not _in_group(viewer, viewer.role)
    assert client_for(viewer.user).get(shared_world.settings_url("roles/")).status_code == 404


@pytest.mark.parametrize(
    ("actor", "target"),
    [
        # Members without manage-members remove nobody.
        *((key, catalog.END_USER) for key in NON_MANAGERS),
        # Nobody removes the Owner, nor themselves.
        (catalog.ADMIN, catalog.OWNER),
        (catalog.ADMIN, catalog.ADMIN),
    ],
    ids=lambda key: key,
)
def test_removal_is_refused(shared_world, actor, target) -> None:
    membership = shared_world.members[target]
    assert _remove(shared_world.client(actor), shared_world, membership).status_code == 403
    with in_org(shared_world.org):
        assert Membership.objects.filter(id=membership.id).exists()


# --- Join requests ---------------------------------------------------------------------------


def _answer_a_join_request(world, key, action, role_key=None, **join):
    """A fresh join request answered (``accept`` with ``role_key``, or ``decline``) by the
    ``key`` member: the response, and the join request after it."""
    join_request = _join_request(world.org, **join)
    response = world.client(key).post(
        world.settings_url(f"people/join-requests/{join_request.id}/{action}/"),
        {"role": world.role(role_key).id} if role_key else {},
    )
    with in_org(world.org):
        return response, JoinRequest.objects.get(id=join_request.id)


@pytest.mark.parametrize("key", MANAGERS)
def test_managers_accept_a_join_request_with_a_role(shared_world, key) -> None:
    applicant = make_user("applicant@acme.test")
    response, join_request = _answer_a_join_request(
        shared_world, key, "accept", catalog.OPERATOR, user=applicant
    )
    assert response.status_code == 302
    assert join_request.status == JoinRequestStatus.ACCEPTED
    with in_org(shared_world.org):
        membership = Membership.objects.select_related("role").get(user=applicant)
        assert membership.role.system_key == catalog.OPERATOR
        assert AuditLogEntry.objects.filter(action="join_request.accept").count() == 1
    assert _in_group(membership, membership.role)


def test_accepting_a_join_request_without_an_account_sends_an_invitation(
    shared_world, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    join_request = _join_request(shared_world.org, email="fresh@acme.test")
    with django_capture_on_commit_callbacks(execute=True):
        shared_world.client(catalog.ADMIN).post(
            shared_world.settings_url(f"people/join-requests/{join_request.id}/accept/"),
            {"role": shared_world.role(catalog.VIEWER).id},
        )
    with in_org(shared_world.org):
        invitation = Invitation.objects.select_related("role").get(email="fresh@acme.test")
    assert invitation.role.system_key == catalog.VIEWER
    assert [message.to for message in mailoutbox] == [["fresh@acme.test"]]


@pytest.mark.parametrize("key", NON_MANAGERS)
def test_members_without_manage_members_cannot_accept_join_requests(shared_world, key) -> None:
    response, join_request = _answer_a_join_request(
        shared_world, key, "accept", catalog.VIEWER, user=make_user("applicant@acme.test")
    )
    assert response.status_code == 403
    assert join_request.status == JoinRequestStatus.PENDING


# Refusing what is pending, which only members with manage-members may do: how, the state a
# manager leaves it in, the state it keeps otherwise, and the audit action of a refusal.
REFUSALS = {
    "revoke-an-invitation": (
        _revoke_an_invitation,
        InvitationStatus.REVOKED,
        InvitationStatus.PENDING,
        "invitation.revoke",
    ),
    "decline-a-join-request": (
        lambda world, key: _answer_a_join_request(world, key, "decline"),
        JoinRequestStatus.DECLINED,
        JoinRequestStatus.PENDING,
        "join_request.decline",
    ),
}


@pytest.mark.parametrize("refusal", REFUSALS)
@pytest.mark.parametrize("key", MANAGERS + NON_MANAGERS)
def test_only_managers_revoke_invitations_and_decline_join_requests(
    shared_world, key, refusal
) -> None:
    act, refused, kept, action = REFUSALS[refusal]
    manager = key in MANAGERS
    response, pending = act(shared_world, key)
    assert response.status_code == (302 if manager else 403)
    assert pending.status == (refused if manager else kept)
    with in_org(shared_world.org):
        assert AuditLogEntry.objects.filter(action=action).count() == (1 if manager else 0)


def test_join_request_list_shows_pending_requests(shared_world) -> None:
    _join_request(shared_world.org, email="someone@acme.test")
    body = (
        shared_world.client(catalog.ADMIN)
        .get(shared_world.settings_url("people/join-requests/"))
        .content.decode()
    )
    assert "someone@acme.test" in body
    assert "Accept" in body and "Decline" in body


# --- Ownership transfer ----------------------------------------------------------------------


def test_owner_transfers_ownership_and_becomes_admin(shared_world) -> None:
    old_owner = _membership(shared_world, catalog.OWNER)
    target = _membership(shared_world, catalog.DEVELOPER)
    response = shared_world.client(catalog.OWNER).post(
        shared_world.settings_url("people/transfer-ownership/"),
        {"new_owner": target.id, "confirm": shared_world.org.slug},
    )
    assert response.status_code == 302
    organization = Organization.objects.get(id=shared_world.org.id)
    assert organization.owner_id == target.user_id
    new_owner = _membership(shared_world, catalog.DEVELOPER)
    previous = _membership(shared_world, catalog.OWNER)
    assert new_owner.role.system_key == catalog.OWNER
    assert previous.role.system_key == catalog.ADMIN
    assert _in_group(new_owner, new_owner.role) and not _in_group(new_owner, target.role)
    assert _in_group(previous, previous.role) and not _in_group(previous, old_owner.role)
    with in_org(shared_world.org):
        assert has_permission(new_owner, "organization.owner", organization)
        assert not has_permission(previous, "organization.owner", organization)
        entry = AuditLogEntry.objects.get(action="organization.ownership_transfer")
    assert entry.before["owner"] == shared_world.user(catalog.OWNER).email
    assert entry.after["owner"] == shared_world.user(catalog.DEVELOPER).email


def test_transfer_needs_the_typed_confirmation(shared_world) -> None:
    target = shared_world.members[catalog.DEVELOPER]
    response = shared_world.client(catalog.OWNER).post(
        shared_world.settings_url("people/transfer-ownership/"),
        {"new_owner": target.id, "confirm": "nope"},
    )
    assert response.status_code == 200
    assert Organization.objects.get(id=shared_world.org.id).owner_id == shared_world.org.owner_id


@pytest.mark.parametrize("key", [catalog.ADMIN, catalog.DEVELOPER, catalog.VIEWER])
def test_only_the_owner_can_transfer_ownership(shared_world, key) -> None:
    client = shared_world.client(key)
    assert client.get(shared_world.settings_url("people/transfer-ownership/")).status_code == 403
    response = client.post(
        shared_world.settings_url("people/transfer-ownership/"),
        {"new_owner": shared_world.members[key].id, "confirm": shared_world.org.slug},
    )
    assert response.status_code == 403
    assert Organization.objects.get(id=shared_world.org.id).owner_id == shared_world.org.owner_id


def test_customer_restricted_members_cannot_become_owner(shared_world) -> None:
    end_user = shared_world.members[catalog.END_USER]
    body = (
        shared_world.client(catalog.OWNER)
        .get(shared_world.settings_url("people/transfer-ownership/"))
        .content.decode()
    )
    assert shared_world.user(catalog.END_USER).email not in body
    response = shared_world.client(catalog.OWNER).post(
        shared_world.settings_url("people/transfer-ownership/"),
        {"new_owner": end_user.id, "confirm": shared_world.org.slug},
    )
    assert response.status_code == 200
    assert Organization.objects.get(id=shared_world.org.id).owner_id == shared_world.org.owner_id


# --- Outsiders -------------------------------------------------------------------------------


def _object_urls(world, org_members, invitation, join_request) -> list[tuple[str, str]]:
    viewer = org_members[catalog.VIEWER] if catalog.VIEWER in org_members else org_members
    return [
        ("get", f"people/members/{viewer.id}/role/"),
        ("post", f"people/members/{viewer.id}/role/"),
        ("get", f"people/members/{viewer.id}/remove/"),
        ("post", f"people/members/{viewer.id}/remove/"),
        ("post", f"people/invitations/{invitation.id}/resend/"),
        ("post", f"people/invitations/{invitation.id}/revoke/"),
        ("get", f"people/join-requests/{join_request.id}/accept/"),
        ("post", f"people/join-requests/{join_request.id}/accept/"),
        ("post", f"people/join-requests/{join_request.id}/decline/"),
    ]


def test_outsider_gets_404_on_every_people_url(shared_world) -> None:
    invitation = _invite(shared_world)
    join_request = _join_request(shared_world.org)
    client = shared_world.outsider_client()
    for path in (
        "people/",
        "people/invite/",
        "people/invitations/",
        "people/join-requests/",
        "people/transfer-ownership/",
    ):
        assert client.get(shared_world.settings_url(path)).status_code == 404
    for method, path in _object_urls(shared_world, shared_world.members, invitation, join_request):
        assert getattr(client, method)(shared_world.settings_url(path)).status_code == 404, path
    with in_org(shared_world.org):
        assert Invitation.objects.get(id=invitation.id).status == InvitationStatus.PENDING
        assert Membership.objects.filter(id=shared_world.members[catalog.VIEWER].id).exists()


def test_another_organizations_objects_under_own_slug_are_404(shared_world) -> None:
    outsider_org = shared_world.other_org
    foreign_member = make_member(outsider_org, catalog.VIEWER)
    foreign_invitation = _invite(shared_world, email="them@globex.test", org=outsider_org)
    foreign_request = _join_request(outsider_org, email="them2@globex.test")
    client = shared_world.client(catalog.OWNER)
    for method, path in _object_urls(
        shared_world, {catalog.VIEWER: foreign_member}, foreign_invitation, foreign_request
    ):
        response = getattr(client, method)(
            shared_world.settings_url(path), {"role": shared_world.role(catalog.ADMIN).id}
        )
        assert response.status_code == 404, path
    response = client.post(
        shared_world.settings_url("people/transfer-ownership/"),
        {"new_owner": foreign_member.id, "confirm": shared_world.org.slug},
    )
    assert response.status_code == 200
    with in_org(outsider_org):
        assert Membership.objects.filter(id=foreign_member.id).exists()
        assert Invitation.objects.get(id=foreign_invitation.id).status == InvitationStatus.PENDING
        assert JoinRequest.objects.get(id=foreign_request.id).status == JoinRequestStatus.PENDING
    assert Organization.objects.get(id=shared_world.org.id).owner_id == shared_world.org.owner_id
