"""Two-factor authentication end to end in a real browser: enrolment with the QR page, the
recovery codes, the organization's requirement on Settings → Security, then signing in with a
code computed from the secret the page showed; the audit log shows the sign-in and where it
came from."""

from __future__ import annotations

import re

import pytest

from accounts import two_factor
from accounts.models import User
from audit import actions
from audit.models import AuditLogEntry
from customers.models import Organization
from roles import catalog
from tests.browser.axe import Audit
from tests.browser.fixtures import Console
from tests.conftest import ALL_DATABASES
from tests.factories import PASSWORD
from tests.roles.helpers import in_org
from tests.world import World

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


def test_enrol_require_and_sign_in_with_a_code(console: Console, world: World) -> None:
    page = console.page
    audit = Audit(page)
    owner = world.user(catalog.OWNER)
    console.login(owner.email, PASSWORD)

    audit.visit("two-factor-off", "/accounts/two-factor/")
    console.shoot("two-factor-off")
    page.get_by_role("link", name="Set up two-factor authentication").click()
    page.wait_for_url("**/accounts/two-factor/setup/")
    qr = page.get_by_role("img", name=re.compile("QR code"))
    assert qr.is_visible()
    assert (qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    secret = page.locator(".secret-key").inner_text().replace(" ", "")
    audit.check("two-factor-setup")
    console.shoot("two-factor-setup")
    step = two_factor.current_step()
    page.get_by_label("Code").fill(two_factor.totp_at(secret, step))
    page.get_by_role("button", name="Turn on").click()
    page.wait_for_url("**/accounts/two-factor/recovery-codes/")
    codes = page.get_by_role("list", name="Recovery codes").locator("code").all_inner_texts()
    assert len(codes) == two_factor.RECOVERY_CODE_COUNT
    audit.check("two-factor-recovery-codes")
    console.shoot("two-factor-recovery-codes")
    page.get_by_role("link", name="Done").click()
    page.wait_for_url("**/accounts/two-factor/")
    assert page.get_by_text("recovery codes left").is_visible()
    audit.check("two-factor-on")
    console.shoot("two-factor-on")

    console.goto(world.settings_url("security/"))
    page.get_by_label("Require two-factor authentication").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Security settings saved.").wait_for()
    console.shoot("security-settings")
    with in_org(world.org):
        assert Organization.objects.get(id=world.org.id).require_two_factor

    # Sign in again: the password, then a code. The enrolment used this step's code, so the
    # next step's (accepted: one step of tolerance) is the one a fresh app would show soon.
    console.context.clear_cookies()
    console.goto("/accounts/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/login/code/")
    page.get_by_label("Code").fill(
        "000000" if two_factor.totp_at(secret, step + 1) != "000000" else "111111"
    )
    page.get_by_role("button", name="Verify").click()
    page.get_by_text("That code is not right").wait_for()
    audit.check("two-factor-code-wrong")
    console.shoot("two-factor-code-wrong")
    page.get_by_label("Code").fill(two_factor.totp_at(secret, step + 1))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r".*/o/.*"))
    assert User.objects.get(pk=owner.pk).totp_last_step == step + 1

    console.goto(world.settings_url("audit/"))
    page.get_by_label("Action").select_option(actions.AUTH_LOGIN)
    page.get_by_role("button", name="Filter").click()
    page.get_by_text("password+totp").first.wait_for()
    console.shoot("audit-log-sign-ins")
    page.set_viewport_size({"width": 375, "height": 900})
    console.assert_no_horizontal_scroll()
    with in_org(world.org):
        entry = AuditLogEntry.objects.filter(action=actions.AUTH_LOGIN).latest("created_at")
    assert entry.after == {"method": "password+totp"}
    assert entry.ip_address == "127.0.0.1"
    assert entry.user_agent and "Chrome" in entry.user_agent
    audit.assert_clean()
