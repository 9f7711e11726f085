"""What the console keeps of an identity provider (SPEC §14): members bound to the provider's
``sub`` rather than to the address it shows, and its discovery document and key set read once
and followed when it rotates its keys."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from audit import actions
from audit.models import AuditLogEntry
from roles import catalog
from roles.models import Membership
from tests.conftest import ALL_DATABASES
from tests.factories import make_member, make_user
from tests.sso.conftest import DOMAIN, SsoOrg, in_org, start_sign_in, through_idp

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

PERSON = f"pat.person@{DOMAIN}"
DISCOVERY = "/.well-known/openid-configuration"


def _sign_in(email: str) -> tuple[Client, Any]:
    client = Client()
    return client, client.get(through_idp(start_sign_in(client, email)))


def _signed_in_as(client: Client) -> str:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id).email if user_id else ""


def _binding(sso_org: SsoOrg, email: str) -> tuple[str, str]:
    with in_org(sso_org.org):
        membership = Membership.objects.get(user__email=email)
    return membership.sso_issuer, membership.sso_subject


def _failures(sso_org: SsoOrg) -> list[str]:
    with in_org(sso_org.org):
        rows = AuditLogEntry.objects.filter(action=actions.AUTH_SSO_LOGIN_FAILED)
        return [row.after["reason"] for row in rows]


def _subject_of(email: str) -> str:
    # The fake provider's subject for an address it has not been told otherwise about.
    return hashlib.sha256(email.encode()).hexdigest()[:24]


# --- Bound to the subject ----------------------------------------------------------------------


def test_the_first_sign_in_binds_the_member_to_the_providers_subject(sso_org: SsoOrg) -> None:
    client, response = _sign_in(PERSON)
    assert response.status_code == 302 and _signed_in_as(client) == PERSON
    assert _binding(sso_org, PERSON) == (sso_org.idp.issuer, _subject_of(PERSON))


def test_a_member_who_signed_up_with_a_password_is_bound_on_their_first_sso_sign_in(
    sso_org: SsoOrg,
) -> None:
    make_member(sso_org.org, catalog.OPERATOR, user=make_user(PERSON))
    assert _binding(sso_org, PERSON) == ("", "")
    client, response = _sign_in(PERSON)
    assert response.status_code == 302 and _signed_in_as(client) == PERSON
    assert _binding(sso_org, PERSON) == (sso_org.idp.issuer, _subject_of(PERSON))


def test_a_subject_whose_address_changed_at_the_provider_keeps_its_account(
    sso_org: SsoOrg,
) -> None:
    _sign_in(PERSON)
    renamed = f"pat.renamed@{DOMAIN}"
    sso_org.idp.email = renamed
    sso_org.idp.claims = {"sub": _subject_of(PERSON)}
    client, response = _sign_in(renamed)
    assert response.status_code == 302
    assert _signed_in_as(client) == PERSON
    assert not User.objects.filter(email=renamed).exists()


def test_another_subject_given_a_bound_members_address_is_refused(sso_org: SsoOrg) -> None:
    _sign_in(PERSON)
    sso_org.idp.claims = {"sub": "someone-else-entirely"}
    client, response = _sign_in(PERSON)
    assert response.status_code == 400
    assert "another person" in response.content.decode()
    assert _signed_in_as(client) == ""
    assert _failures(sso_org) == ["subject_mismatch"]
    assert _binding(sso_org, PERSON) == (sso_org.idp.issuer, _subject_of(PERSON))


def test_a_new_provider_binds_its_own_subject(sso_org: SsoOrg) -> None:
    _sign_in(PERSON)
    with in_org(sso_org.org):
        Membership.objects.filter(user__email=PERSON).update(sso_issuer="https://old-idp.example")
    sso_org.idp.claims = {"sub": "subject-at-the-new-provider"}
    client, response = _sign_in(PERSON)
    assert response.status_code == 302 and _signed_in_as(client) == PERSON
    assert _binding(sso_org, PERSON) == (sso_org.idp.issuer, "subject-at-the-new-provider")


# --- The provider's documents ------------------------------------------------------------------


def test_discovery_and_the_key_set_are_read_once_for_many_sign_ins(sso_org: SsoOrg) -> None:
    for email in (PERSON, f"second@{DOMAIN}", f"third@{DOMAIN}"):
        assert _sign_in(email)[1].status_code == 302
    assert sso_org.idp.served.count(DISCOVERY) == 1
    assert sso_org.idp.served.count("/jwks") == 1


def test_a_rotated_key_is_followed_at_once(sso_org: SsoOrg) -> None:
    assert _sign_in(PERSON)[1].status_code == 302
    sso_org.idp.rotate_key()
    client, response = _sign_in(f"second@{DOMAIN}")
    assert response.status_code == 302 and _signed_in_as(client) == f"second@{DOMAIN}"
    assert sso_org.idp.served.count("/jwks") == 2


def test_unknown_key_ids_read_the_key_set_again_at_most_once_a_minute(sso_org: SsoOrg) -> None:
    assert _sign_in(PERSON)[1].status_code == 302
    sso_org.idp.token_key_id = "made-up-key-id"
    for _ in range(3):
        client, response = _sign_in(f"second@{DOMAIN}")
        assert response.status_code == 400 and _signed_in_as(client) == ""
    assert sso_org.idp.served.count("/jwks") == 2
    assert _failures(sso_org) == ["bad_signature"] * 3
