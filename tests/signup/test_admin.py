"""Staff review in the Django admin: allowed for staff, refused to everyone else; every decision
recorded on the application and, once an organization exists, in its audit log."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditLogEntry
from customers.models import Organization, OrganizationStatus
from signup import services
from signup.models import SignupApplication, SignupStatus
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.factories import make_user
from tests.signup.fake_openai import classification
from tests.signup.helpers import make_application, step_entries, wait_for

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)

CHANGELIST = "/admin/signup/signupapplication/"


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(make_user(is_staff=True))
    return client


@pytest.fixture
def member_client() -> Client:
    client = Client()
    client.force_login(make_user())
    return client


def _in_review(company: str = "Unsure Review Co", **fields) -> SignupApplication:
    application = make_application(
        company,
        status=SignupStatus.MANUAL_REVIEW,
        reason="low_confidence",
        classification=classification(confidence=0.4),
        **fields,
    )
    now = timezone.now().isoformat()
    application.steps = [
        {"step": step, "result": result, "at": now, "error": "", "done": True}
        for step, result in [
            ("email", "passed"),
            ("duplicate", "none"),
            ("classification", "classified"),
            ("decision", "manual_review"),
        ]
    ]
    application.email_domain = application.email.split("@")[1]
    application.save()
    return application


def _provisioned(status: str) -> SignupApplication:
    application = make_application(
        "Moderate Admin Co", status=status, email_confirmed_at=timezone.now()
    )
    application.email_domain = application.email.split("@")[1]
    application.save()
    return services.signup_provision(application_id=application.id)


def test_staff_sees_manual_review_first(staff_client) -> None:
    make_application("Approved Later Co", status=SignupStatus.APPROVED)
    _in_review("Needs A Look Co")
    make_application("Provisional Co", status=SignupStatus.PROVISIONAL)
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        page.index("Needs A Look Co")
        < page.index("Provisional Co")
        < page.index("Approved Later Co")
    )
    filtered = staff_client.get(CHANGELIST, {"status__exact": "provisional"}).content.decode()
    assert "Provisional Co" in filtered and "Needs A Look Co" not in filtered


def test_non_staff_cannot_open_or_act(member_client) -> None:
    application = _in_review()
    assert member_client.get(CHANGELIST).status_code == 302
    response = member_client.post(f"{CHANGELIST}{application.id}/approve/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = member_client.post(
        CHANGELIST, {"action": "approve_selected", "_selected_action": [str(application.id)]}
    )
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    application.refresh_from_db()
    assert application.status == SignupStatus.MANUAL_REVIEW


def test_change_page_shows_the_classification_readably_and_no_password(staff_client) -> None:
    application = _in_review()
    page = staff_client.get(f"{CHANGELIST}{application.id}/change/").content.decode()
    assert "Industry" in page and "Software" in page and "0.40" in page
    assert "Reasoning" in page and "Scripted answer" in page
    assert "pbkdf2" not in page
    assert "Approve" in page and "Reject" in page and "Re-run classification" in page


def test_unknown_application_is_404_for_actions(staff_client) -> None:
    assert staff_client.post(f"{CHANGELIST}{uuid.uuid4()}/approve/").status_code == 404
    assert staff_client.get(f"{CHANGELIST}{uuid.uuid4()}/reject/").status_code == 404


def test_staff_approve_of_manual_review_is_recorded(staff_client) -> None:
    application = _in_review()
    response = staff_client.post(
        CHANGELIST, {"action": "approve_selected", "_selected_action": [str(application.id)]}
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == SignupStatus.APPROVED
    [entry] = step_entries(application, "staff_review")
    assert entry["result"] == "approved" and entry["staff_id"] and entry["at"]


def test_approved_after_review_is_provisioned_once_confirmed(staff_client, pipeline) -> None:
    application = _in_review("Unsure Then Approved Co", email_confirmed_at=timezone.now())
    staff_client.post(f"{CHANGELIST}{application.id}/approve/")
    application = wait_for(
        application.id,
        lambda a: a.provisioned_organization_id is not None,
        what="provisioning after approval",
    )
    assert application.provisioned_organization.status == OrganizationStatus.ACTIVE


def test_pipeline_never_overrides_a_staff_decision(staff_client, llm_settings) -> None:
    application = make_application("Unsure Raced By Staff Co", status=SignupStatus.MANUAL_REVIEW)
    services.signup_application_reject(
        acting_user=make_user(is_staff=True), application_id=application.id, reason="not a fit"
    )
    services.signup_pipeline_advance(application_id=application.id)
    application.refresh_from_db()
    assert application.status == SignupStatus.REJECTED
    assert step_entries(application, "decision")[0]["kept_staff_decision"] is True


def test_staff_reject_asks_for_a_reason_and_shows_it_to_the_applicant(staff_client) -> None:
    application = _in_review()
    form = staff_client.get(f"{CHANGELIST}{application.id}/reject/")
    assert form.status_code == 200 and "shown to the applicant" in form.content.decode()
    empty = staff_client.post(f"{CHANGELIST}{application.id}/reject/", {"reason": "  "})
    assert empty.status_code == 200 and "This field is required" in empty.content.decode()
    staff_client.post(
        f"{CHANGELIST}{application.id}/reject/", {"reason": "we only work with SaaS vendors"}
    )
    application.refresh_from_db()
    assert application.status == SignupStatus.REJECTED
    assert (
        step_entries(application, "staff_review")[0]["reason"] == "we only work with SaaS vendors"
    )
    page = Client().get(f"/signup/status/{application.status_token}/").content.decode()
    assert "Rejected by a Fastn reviewer: we only work with SaaS vendors" in page


def test_bulk_reject_uses_an_intermediate_page(staff_client) -> None:
    first, second = _in_review("First Review Co"), _in_review("Second Review Co")
    ids = [str(first.id), str(second.id)]
    page = staff_client.post(CHANGELIST, {"action": "reject_selected", "_selected_action": ids})
    assert page.status_code == 200 and "Reject 2 applications" in page.content.decode()
    staff_client.post(
        CHANGELIST,
        {
            "action": "reject_selected",
            "_selected_action": ids,
            "apply": "1",
            "reason": "duplicate of another signup",
        },
    )
    assert set(SignupApplication.objects.filter(id__in=ids).values_list("status", flat=True)) == {
        SignupStatus.REJECTED
    }


def test_rerun_classification_classifies_again(staff_client, pipeline, fake_openai) -> None:
    application = _in_review("Approve After Rerun Co")
    staff_client.post(f"{CHANGELIST}{application.id}/rerun/")
    application = wait_for(
        application.id, lambda a: a.status == SignupStatus.APPROVED, what="the new decision"
    )
    assert fake_openai.calls_for("Approve After Rerun Co") == 1
    assert [e["result"] for e in step_entries(application, "staff_review")] == ["rerun_requested"]


def test_approving_a_provisional_org_confirms_it_with_an_audit_row(staff_client) -> None:
    application = _provisioned(SignupStatus.PROVISIONAL)
    org_id = application.provisioned_organization_id
    assert Organization.objects.get(id=org_id).status == OrganizationStatus.PROVISIONAL
    staff_client.post(f"{CHANGELIST}{application.id}/approve/")
    assert Organization.objects.get(id=org_id).status == OrganizationStatus.ACTIVE
    with context(org_id=org_id, role=ORGANIZATION):
        entry = AuditLogEntry.objects.get(action="signup.staff_approve")
        assert entry.after["status"] == "active" and entry.actor.is_staff


def test_rejecting_a_provisioned_org_suspends_it_with_an_audit_row(staff_client) -> None:
    application = _provisioned(SignupStatus.PROVISIONAL)
    org_id = application.provisioned_organization_id
    staff_client.post(f"{CHANGELIST}{application.id}/reject/", {"reason": "fraudulent signup"})
    assert Organization.objects.get(id=org_id).status == OrganizationStatus.SUSPENDED
    with context(org_id=org_id, role=ORGANIZATION):
        assert AuditLogEntry.objects.filter(action="signup.staff_reject").exists()


def test_actions_that_do_not_fit_are_refused_with_a_message(staff_client) -> None:
    application = make_application("Already Rejected Co", status=SignupStatus.REJECTED)
    response = staff_client.post(f"{CHANGELIST}{application.id}/approve/", follow=True)
    assert "Only applications in review or provisional can be approved" in response.content.decode()
    application.refresh_from_db()
    assert application.status == SignupStatus.REJECTED
