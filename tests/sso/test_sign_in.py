"""Signing in through an organization's identity provider, end to end through the Django test
client and the fake provider: the happy paths and every refusal of SPEC §14."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts import two_factor
from accounts.models import User
from accounts.services import two_factor_enable
from audit import actions
from audit.models import AuditLogEntry
from customers.models import Organization
from roles import catalog
from roles.models import Membership
from roles.services import role_delete
from sso.models import SsoConfiguration
from tests.conftest import ALL_DATABASES
from tests.factories import PASSWORD, make_member, make_org, make_user
from tests.roles.helpers import org_role
from tests.sso.conftest import DOMAIN, SsoOrg, configure_sso, in_org, start_sign_in, through_idp
from tests.sso.fake_idp import CLIENT_ID

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

BROWSER = {"HTTP_USER_AGENT": "SSO test browser/1.0", "REMOTE_ADDR": "203.0.113.9"}
NEWCOMER = f"new.person@{DOMAIN}"


def _client() -> Client:
    return Client(**BROWSER)


def _sign_in(client: Client, email: str) -> Any:
    """The whole trip: the email step, the provider, and the callback's answer."""
    return client.get(through_idp(start_sign_in(client, email)))


def _audit(org: Organization, action: str) -> list[AuditLogEntry]:
    with in_org(org):
        return list(AuditLogEntry.objects.filter(action=action).order_by("created_at"))


def _membership(org: Organization, email: str) -> Membership | None:
    with in_org(org):
        return Membership.objects.select_related("role").filter(user__email__iexact=email).first()


def _assert_refused(
    response: Any, sso_org: SsoOrg, reason: str, *, text: str, status: int = 400
) -> None:
    assert response.status_code == status
    assert text in response.content.decode()
    assert b"Back to sign in" in response.content
    assert not User.objects.filter(email__iexact=NEWCOMER).exists()
    assert _membership(sso_org.org, NEWCOMER) is None
    assert [row.after["reason"] for row in _audit(sso_org.org, actions.AUTH_SSO_LOGIN_FAILED)] == [
        reason
    ]


def test_an_address_at_an_sso_domain_goes_to_the_provider_with_state_nonce_and_pkce(
    sso_org: SsoOrg,
) -> None:
    response = start_sign_in(_client(), NEWCOMER)
    location = urlsplit(response["Location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{sso_org.idp.base_url}/authorize"
    )
    assert query["client_id"] == CLIENT_ID
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == "http://testserver/sso/callback/"
    assert query["login_hint"] == NEWCOMER
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert query["state"] != query["nonce"]
    assert "openid" in query["scope"].split()


def test_first_sign_in_creates_the_account_and_the_membership_with_the_default_role(
    sso_org: SsoOrg,
) -> None:
    client = _client()
    response = _sign_in(client, NEWCOMER)
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(email=NEWCOMER)
    assert not user.has_usable_password()
    assert user.full_name == "Sam Single"
    membership = _membership(sso_org.org, NEWCOMER)
    assert membership is not None and membership.role.system_key == catalog.DEVELOPER
    home = client.get("/", follow=True)
    assert home.redirect_chain[-1][0] == f"/o/{sso_org.org.slug}/"
    (token_request,) = sso_org.idp.token_requests
    assert token_request["code_verifier"] and token_request["grant_type"] == "authorization_code"
    (login,) = _audit(sso_org.org, actions.AUTH_LOGIN)
    assert login.after == {
        "method": "sso",
        "issuer": sso_org.idp.issuer,
        "new_account": True,
        "new_membership": True,
        "bound_to_subject": True,
    }
    assert (login.ip_address, login.user_agent) == ("203.0.113.9", "SSO test browser/1.0")
    assert login.actor_id == user.pk
    assert [row.after["user"] for row in _audit(sso_org.org, actions.MEMBERSHIP_CREATE)][-1] == (
        NEWCOMER
    )


def test_a_member_signs_in_with_the_role_they_have(sso_org: SsoOrg) -> None:
    owner_email = sso_org.org.owner.email
    response = _sign_in(_client(), owner_email)
    assert response.status_code == 302
    membership = _membership(sso_org.org, owner_email)
    assert membership is not None and membership.role.system_key == catalog.OWNER
    (login,) = _audit(sso_org.org, actions.AUTH_LOGIN)
    assert login.after["new_account"] is False and login.after["new_membership"] is False


def test_an_existing_account_of_another_organization_joins_with_the_default_role(
    sso_org: SsoOrg,
) -> None:
    person = make_user(f"elsewhere@{DOMAIN}")
    other = make_org("Other Org")
    make_member(other, catalog.VIEWER, user=person)
    assert _sign_in(_client(), person.email).status_code == 302
    membership = _membership(sso_org.org, person.email)
    assert membership is not None and membership.role.system_key == catalog.DEVELOPER
    assert User.objects.get(pk=person.pk).has_usable_password()
    # The sign-in is audited in each of the person's organizations.
    with in_org(other):
        assert AuditLogEntry.objects.filter(action=actions.AUTH_LOGIN).count() == 1


def test_an_account_with_two_factor_still_enters_its_code_after_the_provider(
    sso_org: SsoOrg,
) -> None:
    owner = User.objects.get(pk=sso_org.org.owner_id)
    secret = two_factor.new_secret()
    step = two_factor.current_step()
    two_factor_enable(user=owner, secret=secret, code=two_factor.totp_at(secret, step))
    client = _client()
    response = _sign_in(client, owner.email)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login_code")
    assert "_auth_user_id" not in client.session
    answer = client.post(
        reverse("accounts:login_code"), {"code": two_factor.totp_at(secret, step + 1)}
    )
    assert answer.status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)
    assert [row.after["method"] for row in _audit(sso_org.org, actions.AUTH_LOGIN)] == ["sso+totp"]


def test_other_addresses_continue_to_the_password_step(sso_org: SsoOrg) -> None:
    response = _client().post(reverse("accounts:login"), {"username": "someone@elsewhere.test"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="someone@elsewhere.test"' in page
    assert "data-password-step" in page
    assert "This field is required" not in page


def test_email_and_password_in_one_post_still_sign_in_where_sso_is_not_required(
    sso_org: SsoOrg,
) -> None:
    response = _client().post(
        reverse("accounts:login"), {"username": sso_org.org.owner.email, "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_required_sso_refuses_the_password_with_a_clear_message(sso_org: SsoOrg) -> None:
    configure_sso(sso_org.org, sso_org.idp.issuer, require_sso=True)
    client = _client()
    response = client.post(
        reverse("accounts:login"), {"username": sso_org.org.owner.email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "signs in with single sign-on only" in response.content.decode()
    assert b"Continue with single sign-on" in response.content
    assert "_auth_user_id" not in client.session
    (failed,) = _audit(sso_org.org, actions.AUTH_LOGIN_FAILED)
    assert failed.after == {"reason": "sso_required"}
    # The offered button posts the address alone, which goes to the provider.
    assert start_sign_in(client, sso_org.org.owner.email)["Location"].startswith(
        sso_org.idp.base_url
    )


def test_the_lookup_says_which_addresses_use_sso(sso_org: SsoOrg) -> None:
    client = _client()
    assert client.get(reverse("sso:lookup"), {"email": NEWCOMER}).json() == {"sso": True}
    assert client.get(reverse("sso:lookup"), {"email": "a@other.test"}).json() == {"sso": False}
    configure_sso(sso_org.org, sso_org.idp.issuer, enabled=False)
    assert client.get(reverse("sso:lookup"), {"email": NEWCOMER}).json() == {"sso": False}


# --- Refusals: a clear page, no account or membership, one audit row ---------------------------


def test_a_tampered_state_is_refused(sso_org: SsoOrg) -> None:
    client = _client()
    back = through_idp(start_sign_in(client, NEWCOMER)).replace("state=", "state=x")
    _assert_refused(client.get(back), sso_org, "wrong_state", text="has expired")


def test_an_expired_state_is_refused(sso_org: SsoOrg) -> None:
    client = _client()
    back = through_idp(start_sign_in(client, NEWCOMER))
    session = client.session
    pending = session["sso.pending"]
    pending["started"] = time.time() - 601
    session["sso.pending"] = pending
    session.save()
    _assert_refused(client.get(back), sso_org, "expired_state", text="has expired")


def test_an_answer_used_twice_finds_no_sign_in(sso_org: SsoOrg) -> None:
    client = _client()
    back = through_idp(start_sign_in(client, NEWCOMER))
    assert client.get(back).status_code == 302
    client.logout()
    again = client.get(back)
    assert again.status_code == 400 and b"has expired" in again.content


@pytest.mark.parametrize(
    ("claims", "reason", "text"),
    [
        ({"nonce": "another-sign-in"}, "wrong_nonce", "not the answer to this sign-in"),
        ({"aud": "another-application"}, "wrong_audience", "meant for another application"),
        (
            {"aud": [CLIENT_ID, "another-application"], "azp": "another-application"},
            "wrong_audience",
            "meant for another application",
        ),
        ({"iss": "https://impostor.example"}, "wrong_issuer", "from another issuer"),
        (
            {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
            "expired_token",
            "has expired",
        ),
        ({"email": "someone@elsewhere.test"}, "wrong_domain", "is not an address at"),
        ({"email_verified": False}, "email_unverified", "has not verified"),
        ({"email": None}, "no_email", "did not share your email address"),
    ],
)
def test_an_id_token_that_does_not_hold_is_refused(
    sso_org: SsoOrg, claims: dict[str, Any], reason: str, text: str
) -> None:
    sso_org.idp.claims = claims
    _assert_refused(_sign_in(_client(), NEWCOMER), sso_org, reason, text=text)


def test_a_signature_by_a_key_the_provider_does_not_publish_is_refused(sso_org: SsoOrg) -> None:
    sso_org.idp.foreign_key = True
    _assert_refused(_sign_in(_client(), NEWCOMER), sso_org, "bad_signature", text="signature")


def test_a_provider_refusing_the_person_is_a_clear_page(sso_org: SsoOrg) -> None:
    sso_org.idp.refuse = "access_denied"
    response = _sign_in(_client(), NEWCOMER)
    _assert_refused(response, sso_org, "idp_refused", text="The user is not assigned")


def test_a_provider_that_is_down_at_the_start_is_a_clear_page(sso_org: SsoOrg) -> None:
    sso_org.idp.broken = True
    response = _client().post(reverse("accounts:login"), {"username": NEWCOMER})
    _assert_refused(response, sso_org, "idp_error", text="Try again in a few minutes", status=502)


def test_a_provider_that_cannot_be_reached_is_a_clear_page(sso_org: SsoOrg) -> None:
    configure_sso(sso_org.org, "http://127.0.0.1:9")  # the discard port: nothing listens
    response = _client().post(reverse("accounts:login"), {"username": NEWCOMER})
    _assert_refused(response, sso_org, "idp_unreachable", text="could not be reached", status=502)


def test_a_provider_failing_at_the_token_step_creates_nothing(sso_org: SsoOrg) -> None:
    client = _client()
    back = through_idp(start_sign_in(client, NEWCOMER))
    sso_org.idp.broken = True
    _assert_refused(client.get(back), sso_org, "idp_error", text="with an error", status=502)


def test_a_deleted_default_role_refuses_newcomers_and_leaves_no_account(sso_org: SsoOrg) -> None:
    role = org_role(sso_org.org, "SSO newcomers", ["customers.read"])
    with in_org(sso_org.org):
        SsoConfiguration.objects.filter(org_id=sso_org.org.id).update(default_role_id=role.id)
        role_delete(acting_user=sso_org.org.owner, role=role)
        assert SsoConfiguration.objects.get(org_id=sso_org.org.id).default_role_id is None
    response = _sign_in(_client(), NEWCOMER)
    _assert_refused(response, sso_org, "no_default_role", text="has not chosen the role")
    # A member still signs in.
    assert _sign_in(_client(), sso_org.org.owner.email).status_code == 302
