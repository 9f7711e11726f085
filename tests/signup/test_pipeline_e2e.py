"""Every outcome end to end: the form, a real Celery worker, the fake model, the confirmation
link and the status page (SPEC §8)."""

from __future__ import annotations

import pytest
from django.test import Client

from customers.models import Organization, OrganizationStatus
from roles.models import JoinRequest
from signup.models import SignupApplication, SignupReason, SignupStatus
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.factories import make_org
from tests.signup.helpers import (
    PASSWORD,
    confirmation_link,
    decided,
    form_data,
    step_entries,
    unique_domain,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


def _submit(client: Client, company: str, **kwargs) -> SignupApplication:
    data = form_data(company, **kwargs)
    response = client.post("/signup/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    application = SignupApplication.objects.get(email=data["email"].lower())
    assert response["Location"] == f"/signup/status/{application.status_token}/"
    return application


def _confirm(client: Client, mailoutbox, application: SignupApplication) -> None:
    link = confirmation_link(mailoutbox, application.email)
    assert client.get(link).status_code == 200
    response = client.post(link, {"password": PASSWORD})
    assert response.status_code == 302


def _status_text(client: Client, application: SignupApplication) -> str:
    response = client.get(f"/signup/status/{application.status_token}/")
    assert response.status_code == 200
    return response.content.decode()


def _login_works(email: str) -> bool:
    response = Client().post("/accounts/login/", {"username": email, "password": PASSWORD})
    return response.status_code == 302


@pytest.mark.parametrize(
    ("company", "status", "org_status"),
    [
        ("Approve Grade Inc", SignupStatus.APPROVED, OrganizationStatus.ACTIVE),
        ("Moderate Grade Inc", SignupStatus.PROVISIONAL, OrganizationStatus.PROVISIONAL),
    ],
)
def test_provisioned_outcomes_end_to_end(pipeline, mailoutbox, company, status, org_status) -> None:
    client = Client()
    application = _submit(client, company)
    assert application.status == SignupStatus.PENDING  # stored before anything ran
    assert "confirm your address" in _status_text(client, application)
    application = wait_for(application.id, decided, what="a decision")
    assert application.status == status
    page = _status_text(client, application)
    assert "Confirm your email" in page
    assert not Organization.objects.filter(email_domain=application.email_domain).exists()

    _confirm(client, mailoutbox, application)
    application.refresh_from_db()
    org = Organization.objects.get(id=application.provisioned_organization_id)
    assert org.status == org_status and org.email_domain == application.email_domain
    assert _login_works(application.email)
    page = _status_text(client, application)
    assert "your organization is ready" in page and "Log in" in page
    poll = client.get(f"/signup/status/{application.status_token}/poll/").json()
    assert poll["final"] is True and poll["status"] == status


@pytest.mark.parametrize(
    ("company", "reason"),
    [
        ("Unsure Grade Inc", SignupReason.LOW_CONFIDENCE),
        ("Redflag Grade Inc", SignupReason.RED_FLAGS),
        ("Notbiz-low Grade Inc", SignupReason.NOT_A_BUSINESS_UNSURE),
        ("Agency Grade Inc", SignupReason.NOT_A_SAAS_VENDOR),
        ("Garbled Grade Inc", SignupReason.INVALID_OUTPUT),
    ],
)
def test_manual_review_outcomes_end_to_end(pipeline, mailoutbox, company, reason) -> None:
    client = Client()
    application = wait_for(_submit(client, company).id, decided, what="a decision")
    assert (application.status, application.reason) == (SignupStatus.MANUAL_REVIEW, reason)
    _confirm(client, mailoutbox, application)
    application.refresh_from_db()
    assert application.email_confirmed_at and application.provisioned_organization_id is None
    assert "under review" in _status_text(client, application)


def test_not_a_business_with_high_confidence_is_rejected(pipeline, mailoutbox) -> None:
    client = Client()
    application = wait_for(_submit(client, "Notbiz-high Grade Inc").id, decided)
    assert (application.status, application.reason) == (
        SignupStatus.REJECTED,
        SignupReason.NOT_A_BUSINESS,
    )
    _confirm(client, mailoutbox, application)
    application.refresh_from_db()
    assert application.provisioned_organization_id is None
    assert "Rejected because it does not look like a business" in _status_text(client, application)


def test_invalid_output_then_valid_on_retry_is_approved(pipeline, fake_openai) -> None:
    application = wait_for(_submit(Client(), "Garbled-once Grade Inc").id, decided)
    assert application.status == SignupStatus.APPROVED
    assert fake_openai.calls_for("Garbled-once Grade Inc") == 2


@pytest.mark.parametrize("company", ["Error500 Grade Inc", "Slow Grade Inc"])
def test_unreachable_model_is_retried_three_times_then_provisional(
    pipeline, mailoutbox, fake_openai, company
) -> None:
    client = Client()
    application = wait_for(_submit(client, company).id, decided, timeout=60)
    assert (application.status, application.reason) == (
        SignupStatus.PROVISIONAL,
        SignupReason.LLM_UNREACHABLE,
    )
    assert fake_openai.calls_for(company) == 3
    assert application.llm_failures == 3
    _confirm(client, mailoutbox, application)
    application.refresh_from_db()
    assert application.provisioned_organization.status == OrganizationStatus.PROVISIONAL


def test_a_transient_model_failure_is_retried_and_then_approved(pipeline, fake_openai) -> None:
    application = wait_for(_submit(Client(), "Flaky Grade Inc").id, decided, timeout=30)
    assert application.status == SignupStatus.APPROVED
    assert fake_openai.calls_for("Flaky Grade Inc") == 2
    assert [e["result"] for e in step_entries(application, "classification")] == [
        "retrying",
        "classified",
    ]


def test_personal_email_is_rejected_with_no_confirmation_mail(pipeline, mailoutbox) -> None:
    client = Client()
    application = _submit(client, "Approve Personal Inc", email="Jo.Smith@GMAIL.com")
    application = wait_for(application.id, decided)
    assert (application.status, application.reason) == (
        SignupStatus.REJECTED,
        SignupReason.PERSONAL_EMAIL,
    )
    assert not [m for m in mailoutbox if application.email in m.to]
    page = _status_text(client, application)
    assert "gmail.com is a personal email provider" in page and "work email" in page


def test_duplicate_domain_end_to_end_creates_a_join_request(pipeline) -> None:
    domain = unique_domain()
    org = make_org("Domain Holder", email_domain=domain)
    client = Client()
    application = _submit(client, "Approve Dup Inc", email=f"newbie@{domain}")
    application = wait_for(application.id, decided)
    assert (application.status, application.reason) == (
        SignupStatus.REJECTED,
        SignupReason.DUPLICATE_DOMAIN,
    )
    with context(org_id=org.id, role=ORGANIZATION):
        assert JoinRequest.objects.filter(email=f"newbie@{domain}").count() == 1
    assert f"already uses {domain}" in _status_text(client, application)


def test_confirming_before_the_decision_provisions_when_it_comes(pipeline, mailoutbox) -> None:
    client = Client()
    application = _submit(client, "Slow Early Confirm Inc")  # the model takes its time
    _confirm(client, mailoutbox, application)
    application = wait_for(
        application.id,
        lambda a: a.provisioned_organization_id is not None,
        timeout=60,
        what="provisioning after the decision",
    )
    assert application.status == SignupStatus.PROVISIONAL
