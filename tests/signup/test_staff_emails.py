"""SPEC §14: staff are emailed when an application enters manual review, with a link to it in
the admin; the applicant is emailed the staff decision (approved, or rejected with the reason)."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone

from signup import services
from signup.models import SignupApplication, SignupStatus
from signup.services.review import signup_decision_notify, signup_review_staff_notify
from tests.conftest import ALL_DATABASES
from tests.factories import make_user
from tests.signup.helpers import make_application

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _advance(application: SignupApplication, capture) -> SignupApplication:
    with capture(execute=True):
        services.signup_pipeline_advance(application_id=application.id)
    return SignupApplication.objects.get(id=application.id)


def test_staff_are_emailed_with_an_admin_link_when_an_application_enters_review(
    llm_settings, mailoutbox, django_capture_on_commit_callbacks, settings
) -> None:
    settings.SIGNUP_PUBLIC_URL = "https://console.example.test"
    reviewer = make_user("reviewer@fastn.test", is_staff=True)
    make_user("former@fastn.test", is_staff=True, is_active=False)
    make_user("member@customer.test")
    application = _advance(make_application("Unsure Review Co"), django_capture_on_commit_callbacks)
    assert application.status == SignupStatus.MANUAL_REVIEW
    [message] = [m for m in mailoutbox if m.subject.startswith("Signup to review")]
    assert message.bcc == [reviewer.email]
    assert "Unsure Review Co" in message.subject
    link = f"https://console.example.test/admin/signup/signupapplication/{application.id}/change/"
    assert link in message.body
    assert application.email in message.body


def test_applications_decided_without_review_email_no_staff(
    llm_settings, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    make_user("reviewer@fastn.test", is_staff=True)
    application = _advance(make_application("Approve Quiet Co"), django_capture_on_commit_callbacks)
    assert application.status == SignupStatus.APPROVED
    assert not [m for m in mailoutbox if m.subject.startswith("Signup to review")]


def test_no_staff_means_no_email_and_no_error(mailoutbox) -> None:
    application = make_application("Lonely Review Co", status=SignupStatus.MANUAL_REVIEW)
    assert signup_review_staff_notify(application_id=application.id) == 0
    assert mailoutbox == []


def _in_review(company: str, **fields) -> SignupApplication:
    return make_application(company, status=SignupStatus.MANUAL_REVIEW, **fields)


def test_the_applicant_is_emailed_an_approval(
    mailoutbox, django_capture_on_commit_callbacks
) -> None:
    staff = make_user("reviewer@fastn.test", is_staff=True)
    application = _in_review("Approved Mail Co")
    with django_capture_on_commit_callbacks(execute=True):
        services.signup_application_approve(acting_user=staff, application_id=application.id)
    [message] = [m for m in mailoutbox if m.to == [application.email]]
    assert message.subject == "Your Fastn partner application is approved"
    assert "approved the partner application for Approved Mail Co" in message.body
    assert "confirm your email address" in message.body  # not confirmed yet


def test_the_applicant_is_emailed_a_rejection_with_the_reason(
    mailoutbox, django_capture_on_commit_callbacks
) -> None:
    staff = make_user("reviewer@fastn.test", is_staff=True)
    application = _in_review("Rejected Mail Co", email_confirmed_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        services.signup_application_reject(
            acting_user=staff,
            application_id=application.id,
            reason="We only partner with SaaS vendors & their agencies.",
        )
    [message] = [m for m in mailoutbox if m.to == [application.email]]
    assert message.subject == "Your Fastn partner application was not approved"
    assert "Reason: We only partner with SaaS vendors & their agencies." in message.body


def test_a_refused_staff_action_emails_nobody(mailoutbox) -> None:
    staff = make_user("reviewer@fastn.test", is_staff=True)
    application = make_application("Already Rejected Co", status=SignupStatus.REJECTED)
    with pytest.raises(services.SignupActionRefused):
        services.signup_application_reject(
            acting_user=staff, application_id=application.id, reason="again"
        )
    assert mailoutbox == []


def test_a_decision_email_that_cannot_be_sent_is_logged_not_raised(monkeypatch, caplog) -> None:
    application = make_application("Unreachable Mail Co", status=SignupStatus.APPROVED)

    def refuse(self, fail_silently: bool = False) -> int:
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr(EmailMessage, "send", refuse)
    assert signup_decision_notify(application_id=application.id) is False
    assert "Could not tell the applicant" in caplog.text
