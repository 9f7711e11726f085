"""Single sign-on end to end in a real browser: the email step finds the organization's
identity provider, the fake provider sends the browser back, and the person lands in the
organization, a member with its default role; a provider that refuses the person ends on a
page that says so. The settings page, the email step and the refusal are audited with axe-core
and shot at 1280 px and 375 px."""

from __future__ import annotations

import re
from typing import Any

import pytest

from roles import catalog
from roles.models import Membership
from tests.browser.axe import Audit
from tests.browser.fixtures import NARROW, WIDE, Console
from tests.conftest import ALL_DATABASES
from tests.factories import PASSWORD, make_org, make_user
from tests.sso.conftest import DOMAIN, configure_sso, in_org
from tests.sso.fake_idp import FakeIdP

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


def _sign_in_through_the_provider(console: Console, email: str) -> Any:
    page = console.page
    console.context.clear_cookies()
    console.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    button = page.get_by_role("button", name="Continue with single sign-on")
    button.wait_for()
    assert not page.get_by_label("Password").is_visible()
    return button


def test_sign_in_through_the_identity_provider_in_a_browser(console: Console, idp: FakeIdP) -> None:
    page = console.page
    audit = Audit(page)
    # The owner's own address is elsewhere, so they sign in with their password.
    org = make_org("Acme SSO", owner=make_user("boss@elsewhere.test"), email_domain=DOMAIN)
    configure_sso(org, idp.issuer)
    console.login("boss@elsewhere.test", PASSWORD)
    audit.visit("sso-settings", f"/o/{org.slug}/settings/sso/")
    assert page.get_by_label("Issuer URL").input_value() == idp.issuer
    console.shoot("sso-settings")
    console.assert_no_horizontal_scroll()

    newcomer = f"first.timer@{DOMAIN}"
    for width in (WIDE, NARROW):
        page.set_viewport_size({"width": width, "height": 900})
        button = _sign_in_through_the_provider(console, f"{width}.{newcomer}")
        console.assert_no_horizontal_scroll()
        if width == WIDE:
            audit.check("login-sso")
            console.shoot("login-sso")
        button.click()
        page.wait_for_url(re.compile(rf".*/o/{org.slug}/$"))
        assert page.get_by_role("heading", level=1).first.is_visible()
        with in_org(org):
            membership = Membership.objects.select_related("role", "user").get(
                user__email=f"{width}.{newcomer}"
            )
        assert membership.role.system_key == catalog.DEVELOPER
        assert not membership.user.has_usable_password()

    page.set_viewport_size({"width": WIDE, "height": 900})
    idp.refuse = "access_denied"
    _sign_in_through_the_provider(console, f"refused@{DOMAIN}").click()
    page.get_by_text("The user is not assigned").wait_for()
    audit.check("sso-refused")
    console.shoot("sso-refused")
    console.assert_no_horizontal_scroll()
    with in_org(org):
        assert not Membership.objects.filter(user__email=f"refused@{DOMAIN}").exists()
    audit.assert_clean()
