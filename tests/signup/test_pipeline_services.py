"""Pipeline services run in the test process: idempotency, duplicates, provisioning races, the
sweep. The model is the local fake server; no worker is involved unless a test says so."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from accounts.models import User
from audit.models import AuditLogEntry
from customers.models import Organization, OrganizationStatus
from roles.models import JoinRequest, Membership
from signup import services
from signup.models import SignupApplication, SignupReason, SignupStatus
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.factories import make_org, make_user
from tests.signup.helpers import PASSWORD, make_application, step_entries, unique_domain

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _advance(application: SignupApplication) -> SignupApplication:
    services.signup_pipeline_advance(application_id=application.id)
    return SignupApplication.objects.get(id=application.id)


def _confirm(application: SignupApplication) -> SignupApplication:
    return services.signup_email_confirm(application_id=application.id)


def test_every_step_is_recorded_with_result_and_time(llm_settings) -> None:
    application = _advance(make_application("Approve Steps Co"))
    steps = [entry["step"] for entry in application.steps]
    assert steps == ["email", "duplicate", "classification", "decision"]
    assert all(entry["at"] and entry["done"] and "error" in entry for entry in application.steps)
    assert application.status == SignupStatus.APPROVED
    assert application.prompt_version and application.llm_model and application.raw_response
    assert application.latency_ms is not None


def test_running_the_pipeline_twice_changes_nothing(llm_settings, fake_openai) -> None:
    application = _advance(make_application("Approve Twice Co"))
    again = _advance(application)
    assert again.steps == application.steps
    assert again.classification == application.classification
    assert fake_openai.calls_for("Approve Twice Co") == 1


def test_provisioning_twice_creates_one_organization(llm_settings) -> None:
    application = _confirm(_advance(make_application("Approve Once Co")))
    services.signup_provision(application_id=application.id)
    services.signup_pipeline_advance(application_id=application.id)
    application.refresh_from_db()
    assert Organization.objects.filter(email_domain=application.email_domain).count() == 1
    assert len(step_entries(application, "provisioning")) == 1


def test_approved_and_confirmed_creates_an_active_org_owned_by_the_applicant(llm_settings) -> None:
    application = _advance(make_application("Approve Provision Co", email=f"Jo@{unique_domain()}"))
    assert application.provisioned_organization_id is None  # not before confirmation
    assert not Organization.objects.filter(email_domain=application.email_domain).exists()
    application = _confirm(application)
    org = Organization.objects.get(id=application.provisioned_organization_id)
    assert org.status == OrganizationStatus.ACTIVE
    assert org.plan.code == "free"
    assert org.email_domain == application.email_domain and org.email_domain_verified
    user = User.objects.get(id=application.provisioned_user_id)
    assert org.owner_id == user.id and user.check_password(PASSWORD)
    assert application.password_hash == ""
    with context(org_id=org.id, role=ORGANIZATION):
        membership = Membership.objects.get(user=user)
        assert membership.role.system_key == "owner"
        assert AuditLogEntry.objects.filter(action="signup.provision").exists()


def test_provisional_outcome_gives_a_provisional_org(llm_settings) -> None:
    application = _confirm(_advance(make_application("Moderate Provision Co")))
    assert application.status == SignupStatus.PROVISIONAL
    assert application.provisioned_organization.status == OrganizationStatus.PROVISIONAL


def test_existing_user_is_linked_and_keeps_their_password(llm_settings) -> None:
    email = f"old.hand@{unique_domain()}"
    user = make_user(email)
    user.set_password("their-own-password-9")
    user.save()
    application = _confirm(_advance(make_application("Approve Linked Co", email=email.upper())))
    assert application.provisioned_user_id == user.id
    user.refresh_from_db()
    assert user.check_password("their-own-password-9") and not user.check_password(PASSWORD)
    assert step_entries(application, "provisioning")[0]["user_linked"] is True


def test_manual_review_and_rejected_are_never_provisioned(llm_settings) -> None:
    review = _confirm(_advance(make_application("Unsure Review Co")))
    assert (
        review.status == SignupStatus.MANUAL_REVIEW and review.provisioned_organization_id is None
    )
    personal = _confirm(
        _advance(make_application("Approve Gmail", email="jo.smith@Mail.Gmail.com"))
    )
    assert personal.status == SignupStatus.REJECTED
    assert personal.reason == SignupReason.PERSONAL_EMAIL
    assert personal.provisioned_organization_id is None


def test_duplicate_domain_is_rejected_with_a_join_request(llm_settings, fake_openai) -> None:
    domain = unique_domain()
    org = make_org("Holder", email_domain=domain)
    application = _advance(make_application("Approve Dup Co", email=f"new.person@eu.{domain}"))
    assert application.status == SignupStatus.REJECTED
    assert application.reason == SignupReason.DUPLICATE_DOMAIN
    assert fake_openai.calls_for("Approve Dup Co") == 0
    with context(org_id=org.id, role=ORGANIZATION):
        join_request = JoinRequest.objects.get(signup_application_id=application.id)
        assert join_request.email == f"new.person@eu.{domain}"
        assert join_request.full_name == "Jo Smith"
    _advance(application)
    with context(org_id=org.id, role=ORGANIZATION):
        assert JoinRequest.objects.filter(signup_application_id=application.id).count() == 1


def test_the_later_of_two_applicants_for_one_domain_gets_a_join_request(llm_settings) -> None:
    domain = unique_domain()
    first = _advance(make_application("Approve First Co", email=f"a@{domain}"))
    second = _advance(make_application("Approve Second Co", email=f"b@{domain}"))
    assert first.status == second.status == SignupStatus.APPROVED  # nothing claimed before
    _confirm(second)
    first = _confirm(first)
    second.refresh_from_db()
    assert second.provisioned_organization_id is not None
    assert first.status == SignupStatus.REJECTED and first.reason == SignupReason.DUPLICATE_DOMAIN
    with context(org_id=second.provisioned_organization_id, role=ORGANIZATION):
        assert JoinRequest.objects.filter(signup_application_id=first.id).exists()


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_racing_provisioning_creates_exactly_one_organization(llm_settings) -> None:
    domain = unique_domain()
    applications = [
        _advance(make_application(f"Approve Racer {n}", email=f"racer{n}@{domain}"))
        for n in range(2)
    ]
    now = timezone.now()
    SignupApplication.objects.filter(id__in=[a.id for a in applications]).update(
        email_confirmed_at=now
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def provision(application_id) -> None:
        try:
            barrier.wait(timeout=10)
            services.signup_provision(application_id=application_id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=provision, args=(a.id,)) for a in applications]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    results = list(SignupApplication.objects.filter(id__in=[a.id for a in applications]))
    winners = [a for a in results if a.provisioned_organization_id]
    losers = [a for a in results if a.status == SignupStatus.REJECTED]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0].reason == SignupReason.DUPLICATE_DOMAIN
    assert Organization.objects.filter(email_domain=domain).count() == 1
    with context(org_id=winners[0].provisioned_organization_id, role=ORGANIZATION):
        assert JoinRequest.objects.filter(signup_application_id=losers[0].id).exists()


def test_llm_failures_are_counted_then_the_outcome_is_provisional(
    llm_settings, fake_openai
) -> None:
    application = make_application("Error500 Counted Co")
    for attempt in (1, 2):
        with pytest.raises(services.ClassificationDeferred):
            services.signup_pipeline_advance(application_id=application.id)
        application.refresh_from_db()
        assert application.llm_failures == attempt and application.status == SignupStatus.PENDING
    application = _advance(application)
    assert application.status == SignupStatus.PROVISIONAL
    assert application.reason == SignupReason.LLM_UNREACHABLE
    assert fake_openai.calls_for("Error500 Counted Co") == 3
    retries = [e for e in step_entries(application, "classification") if e["result"] == "retrying"]
    assert len(retries) == 2 and all(e["error"] for e in retries)


def test_llm_failures_after_the_window_give_up_at_once(llm_settings) -> None:
    application = make_application("Error500 Window Co")
    with pytest.raises(services.ClassificationDeferred):
        services.signup_pipeline_advance(application_id=application.id)
    application.refresh_from_db()
    old = (timezone.now() - timedelta(minutes=11)).isoformat()
    application.steps = [{**e, "at": old} for e in application.steps]
    application.save()
    assert _advance(application).status == SignupStatus.PROVISIONAL


def test_not_configured_is_provisional(llm_settings) -> None:
    llm_settings.OPENAI_API_KEY = ""
    application = _advance(make_application("Approve Unconfigured Co"))
    assert application.status == SignupStatus.PROVISIONAL
    assert application.reason == SignupReason.LLM_NOT_CONFIGURED


def test_typo_hint_is_stored_without_blocking(llm_settings) -> None:
    application = _advance(make_application("Approve Typo Co", email="jo@gmial.com"))
    assert application.hint == "Did you mean gmail.com?"
    assert application.status == SignupStatus.APPROVED


def test_only_active_organizations_may_deploy_to_prod() -> None:
    from customers.states import can_deploy_to_prod

    assert can_deploy_to_prod(make_org(status=OrganizationStatus.ACTIVE))
    assert not can_deploy_to_prod(make_org(status=OrganizationStatus.PROVISIONAL))
    assert not can_deploy_to_prod(make_org(status=OrganizationStatus.SUSPENDED))
