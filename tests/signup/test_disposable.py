"""Disposable (throw-away) mail services are refused like personal providers, from the bundled
community list; personal providers keep their own wording; real companies pass."""

from __future__ import annotations

import pytest
from django.test import Client

from signup import services
from signup.emailcheck import check_email
from signup.models import SignupApplication, SignupReason, SignupStatus
from tests.conftest import ALL_DATABASES
from tests.signup.helpers import make_application

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.mark.parametrize(
    "email", ["jo@mailinator.com", "jo@MAILINATOR.com", "jo@eu.mailinator.com", "a@yopmail.com"]
)
def test_disposable_services_are_refused(email) -> None:
    checked = check_email(email)
    assert checked.is_personal and checked.disposable


def test_personal_providers_stay_personal_not_disposable() -> None:
    checked = check_email("jo@gmail.com")
    assert checked.is_personal and not checked.disposable


@pytest.mark.parametrize("email", ["jo@acme-widgets.com", "jo@mail.acme-widgets.com"])
def test_company_domains_pass(email) -> None:
    assert not check_email(email).is_personal


def test_a_near_miss_of_a_provider_gets_a_hint_even_if_listed_as_disposable() -> None:
    checked = check_email("jo@gmial.com")
    assert not checked.is_personal and checked.hint == "gmail.com"


def test_a_disposable_signup_is_rejected_and_says_why() -> None:
    application = make_application("Throwaway Co", email="jo@mailinator.com")
    services.signup_pipeline_advance(application_id=application.id)
    application = SignupApplication.objects.get(id=application.id)
    assert application.status == SignupStatus.REJECTED
    assert application.reason == SignupReason.PERSONAL_EMAIL
    page = Client().get(f"/signup/status/{application.status_token}/").content.decode()
    assert "mailinator.com is a disposable email provider" in page
