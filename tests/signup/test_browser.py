"""The signup pages in a real browser: the status page shows each step as the worker finishes
it, without a reload, at 1280 px and 375 px wide."""

from __future__ import annotations

import pytest

from signup.models import SignupApplication, SignupStatus
from tests.browser.fixtures import Console
from tests.conftest import ALL_DATABASES
from tests.signup.helpers import PASSWORD, unique_domain

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


def test_status_page_updates_itself_until_the_outcome(pipeline, console: Console) -> None:
    email = f"jo@{unique_domain()}"
    page = console.page
    console.goto("/signup/")
    page.get_by_label("Your name").fill("Jo Smith")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Company name").fill("Moderate Browser Inc")
    page.get_by_label("Company website").fill("browser.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/signup/status/**")
    page.evaluate("window.__notReloaded = true")
    page.get_by_text("Provisionally approved.").wait_for(timeout=30_000)
    assert page.evaluate("window.__notReloaded") is True
    assert page.get_by_text("Confirm your email: open the link").is_visible()
    application = SignupApplication.objects.get(email=email)
    assert application.status == SignupStatus.PROVISIONAL
    console.assert_no_horizontal_scroll()
    console.shoot("signup-status")
    page.set_viewport_size({"width": 375, "height": 900})
    console.assert_no_horizontal_scroll()


def test_form_errors_keep_the_typed_values_at_375px(console: Console) -> None:
    page = console.page
    page.set_viewport_size({"width": 375, "height": 900})
    console.goto("/signup/")
    page.get_by_label("Your name").fill("Jo Smith")
    page.get_by_label("Work email").fill("jo@@example")
    page.get_by_label("Company name").fill("<script>alert(1)</script>")
    page.get_by_role("button", name="Sign up").click()
    assert page.get_by_text("Enter a valid email address").first.is_visible()
    assert page.get_by_label("Company name").input_value() == "<script>alert(1)</script>"
    console.assert_no_horizontal_scroll()
    console.shoot("signup-form-errors")
