"""SPEC §14: two-factor authentication with TOTP and recovery codes — enrol, sign in with a
code, wrong / reused / skewed codes, recovery codes, turning it off, the organization's
requirement and the staff admin's."""

from __future__ import annotations

import re
import time

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
from tests.conftest import ALL_DATABASES
from tests.factories import PASSWORD, client_for, make_org, make_user
from tests.roles.helpers import in_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

SETUP = reverse("accounts:two_factor_setup")
CODE = reverse("accounts:login_code")


def _code(secret: str, steps_from_now: int = 0) -> str:
    return two_factor.totp_at(secret, two_factor.current_step() + steps_from_now)


def _enrolled(user: User, *, steps_ago: int = 5) -> tuple[str, list[str]]:
    """Turn two-factor on for ``user`` with a code from a while ago, so the current code is
    still unused; returns the secret and the recovery codes."""
    secret = two_factor.new_secret()
    now = time.time() - steps_ago * two_factor.STEP_SECONDS
    codes = two_factor_enable(
        user=user,
        secret=secret,
        code=two_factor.totp_at(secret, two_factor.current_step(now)),
        now=now,
    )
    return secret, codes


def _verified_client(user: User) -> Client:
    """A client signed in as ``user`` whose session passed two-factor."""
    client = client_for(user)
    session = client.session
    session[two_factor.VERIFIED_SESSION_KEY] = True
    session.save()
    return client


def _sign_in_password(client: Client, user: User):
    return client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _actions(org: Organization) -> list[str]:
    with in_org(org):
        return list(AuditLogEntry.objects.order_by("created_at").values_list("action", flat=True))


# --- Enrolment ------------------------------------------------------------------------------


def test_enrolment_shows_a_local_qr_code_and_turns_on_with_a_code() -> None:
    org = make_org("Acme")
    client = client_for(org.owner)
    page = client.get(SETUP)
    body = page.content.decode()
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in body
    assert "https://" not in body.split("<main", 1)[1]  # nothing fetched from elsewhere
    secret = client.session[two_factor.SETUP_SECRET_SESSION_KEY]
    assert secret.replace(" ", "")[:4] in body.replace(" ", "")

    response = client.post(SETUP, {"code": _code(secret)})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:recovery_codes")
    codes_page = client.get(response["Location"]).content.decode()
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", codes_page)
    assert len(codes) == two_factor.RECOVERY_CODE_COUNT
    # Shown once.
    assert client.get(reverse("accounts:recovery_codes")).status_code == 302

    user = User.objects.get(pk=org.owner.pk)
    assert user.has_two_factor
    assert secret not in user.totp_secret_encrypted
    assert codes[0] not in str(user.recovery_code_digests)
    assert actions.AUTH_TWO_FACTOR_ENABLE in _actions(org)


def test_enrolment_refuses_a_wrong_code_and_a_clock_far_off() -> None:
    user = make_user()
    client = client_for(user)
    client.get(SETUP)
    secret = client.session[two_factor.SETUP_SECRET_SESSION_KEY]
    wrong = client.post(SETUP, {"code": "000000" if _code(secret) != "000000" else "111111"})
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.content.decode()
    skewed = client.post(SETUP, {"code": _code(secret, 4)})
    assert skewed.status_code == 400
    assert "clock of your device is more than 30 seconds off" in skewed.content.decode()
    assert not User.objects.get(pk=user.pk).has_two_factor


# --- Signing in -----------------------------------------------------------------------------


def test_sign_in_asks_for_a_code_after_the_password() -> None:
    org = make_org("Acme")
    secret, _ = _enrolled(org.owner)
    client = Client(REMOTE_ADDR="198.51.100.8")
    response = _sign_in_password(client, org.owner)
    assert response.status_code == 302 and response["Location"] == CODE
    assert not _signed_in(client)
    assert client.get(f"/o/{org.slug}/").status_code == 302  # not signed in yet

    done = client.post(CODE, {"code": _code(secret)})
    assert done.status_code == 302
    assert _signed_in(client)
    assert client.get(f"/o/{org.slug}/").status_code == 200
    with in_org(org):
        entry = AuditLogEntry.objects.get(action=actions.AUTH_LOGIN)
    assert entry.after == {"method": "password+totp"}
    assert entry.ip_address == "198.51.100.8"


def test_a_code_from_one_step_ago_is_accepted() -> None:
    user = make_user()
    secret, _ = _enrolled(user)
    client = Client()
    _sign_in_password(client, user)
    assert client.post(CODE, {"code": _code(secret, -1)}).status_code == 302
    assert _signed_in(client)


def test_a_used_code_is_refused_as_reused() -> None:
    user = make_user()
    secret, _ = _enrolled(user)
    first = Client()
    _sign_in_password(first, user)
    code = _code(secret)
    assert first.post(CODE, {"code": code}).status_code == 302
    second = Client()
    _sign_in_password(second, user)
    response = second.post(CODE, {"code": code})
    assert response.status_code == 400
    assert "That code was already used" in response.content.decode()
    assert not _signed_in(second)


def test_a_code_beyond_one_step_of_skew_is_refused_with_the_reason() -> None:
    org = make_org("Acme")
    secret, _ = _enrolled(org.owner)
    client = Client()
    _sign_in_password(client, org.owner)
    for steps in (2, -2):
        response = client.post(CODE, {"code": _code(secret, steps)})
        assert response.status_code == 400
        assert "more than 30 seconds off" in response.content.decode()
    assert not _signed_in(client)
    with in_org(org):
        failed = AuditLogEntry.objects.filter(action=actions.AUTH_TWO_FACTOR_FAILED)
        assert [entry.after["reason"] for entry in failed] == ["skewed", "skewed"]


def test_a_recovery_code_signs_in_once() -> None:
    user = make_user()
    _, codes = _enrolled(user)
    client = Client()
    _sign_in_password(client, user)
    assert client.post(CODE, {"code": codes[3].upper()}).status_code == 302
    assert _signed_in(client)
    again = Client()
    _sign_in_password(again, user)
    response = again.post(CODE, {"code": codes[3]})
    assert response.status_code == 400
    assert len(User.objects.get(pk=user.pk).recovery_code_digests) == len(codes) - 1


def test_wrong_codes_are_throttled() -> None:
    user = make_user()
    secret, _ = _enrolled(user)
    client = Client()
    _sign_in_password(client, user)
    for _ in range(5):
        assert client.post(CODE, {"code": "abcde-fghjk"}).status_code == 400
    refused = client.post(CODE, {"code": _code(secret)})
    assert refused.status_code == 429
    assert "Too many wrong codes" in refused.content.decode()
    assert not _signed_in(client)


def test_the_code_step_expires() -> None:
    user = make_user()
    secret, _ = _enrolled(user)
    client = Client()
    _sign_in_password(client, user)
    session = client.session
    session[two_factor.PENDING_SESSION_KEY]["started"] -= two_factor.PENDING_MAX_AGE_SECONDS + 1
    session.save()
    response = client.post(CODE, {"code": _code(secret)}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts:login")
    assert "Sign in again" in response.content.decode()
    assert not _signed_in(client)


def test_the_code_page_without_a_password_step_sends_to_sign_in() -> None:
    response = Client().get(CODE)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")


# --- Turning off, recovery codes --------------------------------------------------------------


def test_turning_off_needs_the_password_and_a_code() -> None:
    org = make_org("Acme")
    secret, _ = _enrolled(org.owner)
    client = _verified_client(org.owner)
    url = reverse("accounts:two_factor_disable")
    no_password = client.post(url, {"password": "wrong-password", "code": _code(secret)})
    assert no_password.status_code == 400
    assert "That password is not right" in no_password.content.decode()
    no_code = client.post(url, {"password": PASSWORD, "code": "abcde-fghjk"})
    assert no_code.status_code == 400
    assert "That code is not right" in no_code.content.decode()
    assert User.objects.get(pk=org.owner.pk).has_two_factor
    done = client.post(url, {"password": PASSWORD, "code": _code(secret)})
    assert done.status_code == 302
    assert not User.objects.get(pk=org.owner.pk).has_two_factor
    assert actions.AUTH_TWO_FACTOR_DISABLE in _actions(org)


def test_regenerated_recovery_codes_replace_the_old_ones() -> None:
    user = make_user()
    secret, old_codes = _enrolled(user)
    client = _verified_client(user)
    response = client.post(reverse("accounts:recovery_codes_regenerate"), {"code": _code(secret)})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    new_codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", page)
    assert len(new_codes) == two_factor.RECOVERY_CODE_COUNT
    assert not set(new_codes) & set(old_codes)
    stale = Client()
    _sign_in_password(stale, user)
    assert stale.post(CODE, {"code": old_codes[0]}).status_code == 400
    fresh = Client()
    _sign_in_password(fresh, user)
    assert fresh.post(CODE, {"code": new_codes[0]}).status_code == 302


# --- Where it is required ---------------------------------------------------------------------


def _require(org: Organization) -> None:
    with in_org(org):
        Organization.objects.filter(id=org.id).update(require_two_factor=True)


def test_an_organization_requiring_it_sends_members_without_it_to_enrolment(
    shared_world,
) -> None:
    _require(shared_world.org)
    client = shared_world.client(catalog.VIEWER)
    wanted = shared_world.settings_url("customers/")
    response = client.get(wanted)
    assert response.status_code == 302
    assert response["Location"].startswith(SETUP + "?next=")
    page = client.get(response["Location"]).content.decode()
    assert "requires two-factor authentication" in page
    secret = client.session[two_factor.SETUP_SECRET_SESSION_KEY]
    enrolled = client.post(response["Location"], {"code": _code(secret)})
    codes_page = client.get(enrolled["Location"]).content.decode()
    assert f'href="{wanted}"' in codes_page  # Continue goes back to the page asked for
    assert client.get(wanted).status_code == 200
    # Other organizations' pages are not affected; outsiders still learn nothing.
    assert shared_world.outsider_client().get(wanted).status_code == 404


def test_a_member_with_two_factor_must_have_passed_it_in_this_session(shared_world) -> None:
    _require(shared_world.org)
    user = shared_world.user(catalog.ADMIN)
    secret, _ = _enrolled(user)
    client = client_for(user)  # a session that never saw a code
    response = client.get(shared_world.url())
    assert response.status_code == 302
    assert response["Location"].startswith(CODE + "?next=")
    verified = client.post(response["Location"], {"code": _code(secret)})
    assert verified.status_code == 302 and verified["Location"] == shared_world.url()
    assert client.get(shared_world.url()).status_code == 200


def test_a_session_that_skipped_the_code_reaches_nothing_but_the_code_page(shared_world) -> None:
    """E.g. a staff member with two-factor who used the admin's own login form."""
    user = shared_world.user(catalog.DEVELOPER)
    secret, _ = _enrolled(user)
    client = client_for(user)
    for path in ("/", shared_world.url(), reverse("accounts:two_factor"), "/admin/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(CODE + "?next="), path
    assert client.get(CODE).status_code == 200
    assert client.post(CODE, {"code": _code(secret)}).status_code == 302
    assert client.get(shared_world.url()).status_code == 200


def test_without_the_requirement_members_go_on_without_two_factor(shared_world) -> None:
    assert shared_world.client(catalog.VIEWER).get(shared_world.url()).status_code == 200


def test_staff_need_two_factor_for_the_admin_under_production_settings(settings) -> None:
    staff = make_user("staff@platform.test", is_staff=True, is_superuser=True)
    settings.STAFF_REQUIRE_TWO_FACTOR = False
    assert client_for(staff).get("/admin/").status_code == 200
    settings.STAFF_REQUIRE_TWO_FACTOR = True
    client = client_for(staff)
    refused = client.get("/admin/")
    assert refused.status_code == 302 and refused["Location"].startswith(SETUP)
    client.get(SETUP)
    secret = client.session[two_factor.SETUP_SECRET_SESSION_KEY]
    client.post(SETUP, {"code": _code(secret)})
    assert client.get("/admin/").status_code == 200


def test_the_production_default_requires_it_for_staff() -> None:
    from fastn_console import settings as project_settings

    source = open(project_settings.__file__).read()
    assert 'STAFF_REQUIRE_TWO_FACTOR = env.bool("STAFF_REQUIRE_TWO_FACTOR", default=not DEBUG' in (
        source
    )


# --- Settings → Security ----------------------------------------------------------------------


def test_members_who_manage_settings_require_two_factor(shared_world) -> None:
    admin = shared_world.user(catalog.ADMIN)
    _enrolled(admin)
    client = _verified_client(admin)
    url = shared_world.settings_url("security/")
    assert client.get(url).status_code == 200
    response = client.post(url, {"require_two_factor": "on"})
    assert response.status_code == 302
    with in_org(shared_world.org):
        assert Organization.objects.get(id=shared_world.org.id).require_two_factor
        entry = AuditLogEntry.objects.get(action=actions.ORGANIZATION_REQUIRE_TWO_FACTOR)
    assert entry.after == {"require_two_factor": True}


def test_requiring_it_without_having_it_is_refused(shared_world) -> None:
    client = shared_world.client(catalog.OWNER)
    response = client.post(shared_world.settings_url("security/"), {"require_two_factor": "on"})
    assert response.status_code == 400
    assert "Turn on two-factor authentication for your own account first" in (
        response.content.decode()
    )
    with in_org(shared_world.org):
        assert not Organization.objects.get(id=shared_world.org.id).require_two_factor


def test_members_without_manage_settings_read_but_cannot_change_it(shared_world) -> None:
    client = shared_world.client(catalog.DEVELOPER)
    url = shared_world.settings_url("security/")
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="require_two_factor"' not in page.content.decode()
    assert client.post(url, {"require_two_factor": "on"}).status_code == 403


def test_end_users_and_outsiders_get_404_on_security_settings(shared_world) -> None:
    url = shared_world.settings_url("security/")
    assert shared_world.client(catalog.END_USER).get(url).status_code == 404
    assert shared_world.outsider_client().get(url).status_code == 404
