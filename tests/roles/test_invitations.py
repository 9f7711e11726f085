"""The public invitation link: signed, expiring, single use (SPEC §4, §5.7)."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.core import signing
from django.test import Client

from accounts.models import User
from audit.models import AuditLogEntry
from roles import catalog
from roles.models import Invitation, InvitationStatus, Membership, Role
from roles.selectors import invitation_token
from roles.services import invitation_create, invitation_revoke, role_group_name
from tests.conftest import ALL_DATABASES
from tests.factories import PASSWORD, client_for, make_user
from tests.roles.helpers import in_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

EIGHT_DAYS = 8 * 24 * 3600


def _invite(world, email="new@acme.test", role_key=catalog.DEVELOPER, customer=None):
    with in_org(world.org):
        role = Role.objects.get(system_key=role_key)
        invitation = invitation_create(
            acting_user=world.org.owner,
            organization=world.org,
            email=email,
            role=role,
            restricted_customer=customer,
            link_base="http://testserver/",
        )
    return invitation, f"/invitations/{invitation_token(invitation)}/"


def _membership_of(world, email):
    with in_org(world.org):
        return Membership.objects.select_related("role", "user").filter(user__email=email).first()


def _clock_ahead(monkeypatch, seconds: int) -> None:
    """Move django.core.signing's clock only: the link's timestamp ages, nothing else."""
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() + seconds))


def test_invitation_email_carries_a_working_link(
    shared_world, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        shared_world.client(catalog.ADMIN).post(
            shared_world.settings_url("people/invite/"),
            {"email": "new@acme.test", "role": shared_world.role(catalog.VIEWER).id},
        )
    link = re.search(r"http://testserver(/invitations/\S+/)", mailoutbox[0].body).group(1)
    response = Client().get(link)
    assert response.status_code == 200
    assert "Join Acme" in response.content.decode()
    assert "Viewer" in response.content.decode()


def test_new_person_creates_an_account_and_joins(shared_world) -> None:
    invitation, link = _invite(shared_world)
    client = Client()
    page = client.get(link).content.decode()
    assert "Create your account to accept." in page
    response = client.post(
        link,
        {"full_name": "New Person", "password1": "a-long-pass-123", "password2": "a-long-pass-123"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/o/{shared_world.org.slug}/"
    user = User.objects.get(email="new@acme.test")
    assert user.check_password("a-long-pass-123")
    assert user.full_name == "New Person"
    membership = _membership_of(shared_world, "new@acme.test")
    assert membership.role.system_key == catalog.DEVELOPER
    assert (
        Group.objects.get(name=role_group_name(membership.role))
        .user_set.filter(id=user.id)
        .exists()
    )
    with in_org(shared_world.org):
        assert Invitation.objects.get(id=invitation.id).status == InvitationStatus.ACCEPTED
        entry = AuditLogEntry.objects.get(action="invitation.accept")
    assert entry.actor == user
    assert client.get(f"/o/{shared_world.org.slug}/settings/roles/").status_code == 200  # logged in


def test_signup_form_errors_keep_the_name_and_create_nothing(shared_world) -> None:
    _, link = _invite(shared_world)
    response = Client().post(
        link,
        {
            "full_name": "Kept Name",
            "password1": "a-long-pass-123",
            "password2": "different-pass-456",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "The two passwords differ." in body
    assert 'value="Kept Name"' in body
    assert not User.objects.filter(email="new@acme.test").exists()


def test_weak_password_is_refused(shared_world) -> None:
    _, link = _invite(shared_world)
    response = Client().post(link, {"password1": "12345678", "password2": "12345678"})
    assert response.status_code == 200
    assert not User.objects.filter(email="new@acme.test").exists()


def test_existing_account_logs_in_with_its_password_and_joins(shared_world) -> None:
    make_user("known@example.test")
    _, link = _invite(shared_world, email="known@example.test")
    client = Client()
    assert "enter its password" in client.get(link).content.decode()
    wrong = client.post(link, {"password": "not-it"})
    assert "That password does not match this account." in wrong.content.decode()
    assert _membership_of(shared_world, "known@example.test") is None
    response = client.post(link, {"password": PASSWORD})
    assert response.status_code == 302
    assert _membership_of(shared_world, "known@example.test").role.system_key == catalog.DEVELOPER


def test_signed_in_invitee_accepts_with_one_click(shared_world) -> None:
    user = make_user("known@example.test")
    _, link = _invite(shared_world, email="known@example.test")
    client = client_for(user)
    assert "Accept and join" in client.get(link).content.decode()
    assert client.post(link).status_code == 302
    assert _membership_of(shared_world, "known@example.test") is not None


def test_someone_else_signed_in_cannot_accept(shared_world) -> None:
    _, link = _invite(shared_world, email="invitee@example.test")
    intruder = client_for(make_user("intruder@example.test"))
    page = intruder.get(link).content.decode()
    assert "You are signed in as intruder@example.test" in page
    intruder.post(link)
    assert _membership_of(shared_world, "intruder@example.test") is None
    assert _membership_of(shared_world, "invitee@example.test") is None


def test_end_user_invitation_joins_restricted_to_the_customer(shared_world) -> None:
    _, link = _invite(
        shared_world,
        email="portal@acme.test",
        role_key=catalog.END_USER,
        customer=shared_world.customer,
    )
    response = Client().post(link, {"password1": "a-long-pass-123", "password2": "a-long-pass-123"})
    assert (
        response["Location"] == f"/o/{shared_world.org.slug}/customers/{shared_world.customer.id}/"
    )
    assert (
        _membership_of(shared_world, "portal@acme.test").restricted_customer_id
        == shared_world.customer.id
    )


def test_expired_link_says_so_and_joins_nobody(shared_world, monkeypatch) -> None:
    _, link = _invite(shared_world)
    _clock_ahead(monkeypatch, EIGHT_DAYS)
    client = Client()
    response = client.get(link)
    assert response.status_code == 410
    assert "This invitation link has expired." in response.content.decode()
    posted = client.post(link, {"password1": "a-long-pass-123", "password2": "a-long-pass-123"})
    assert posted.status_code == 410
    assert not User.objects.filter(email="new@acme.test").exists()


def test_link_is_still_valid_just_before_seven_days(shared_world, monkeypatch) -> None:
    _, link = _invite(shared_world)
    _clock_ahead(monkeypatch, 7 * 24 * 3600 - 60)
    assert Client().get(link).status_code == 200


def test_revoked_link_says_so(shared_world) -> None:
    invitation, link = _invite(shared_world)
    with in_org(shared_world.org):
        invitation_revoke(acting_user=shared_world.org.owner, invitation=invitation)
    response = Client().get(link)
    assert response.status_code == 410
    assert "was revoked" in response.content.decode()


def test_tampered_link_is_refused(shared_world) -> None:
    invitation, _ = _invite(shared_world)
    token = invitation_token(invitation)
    payload, _, signature = token.rpartition(":")
    forged = f"{payload}:{'A' * len(signature)}"
    response = Client().get(f"/invitations/{forged}/")
    assert response.status_code == 404
    assert "This invitation link is not valid." in response.content.decode()
    other_org = signing.dumps(
        {"org": str(shared_world.other_org.id), "inv": str(invitation.id)}, salt="somewhere.else"
    )
    assert Client().get(f"/invitations/{other_org}/").status_code == 404


def test_a_link_cannot_be_used_twice(shared_world) -> None:
    _, link = _invite(shared_world)
    Client().post(link, {"password1": "a-long-pass-123", "password2": "a-long-pass-123"})
    second = Client().get(link)
    assert second.status_code == 410
    assert "already been accepted" in second.content.decode()
    with in_org(shared_world.org):
        assert Membership.objects.filter(user__email="new@acme.test").count() == 1


def test_a_link_naming_another_organization_finds_nothing(shared_world) -> None:
    invitation, _ = _invite(shared_world)
    forged = signing.dumps(
        {"org": str(shared_world.other_org.id), "inv": str(invitation.id)}, salt="roles.invitation"
    )
    response = Client().post(
        f"/invitations/{forged}/", {"password1": "a-long-pass-123", "password2": "a-long-pass-123"}
    )
    assert response.status_code == 404
    assert not User.objects.filter(email="new@acme.test").exists()
