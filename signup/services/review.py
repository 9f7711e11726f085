"""Staff review in the Django admin (platform scope): approve, reject with a reason, or classify
again. Each decision is recorded on the application, and in the organization's audit log once the
organization exists.

Email (SPEC §14): staff hear of every application that enters ``manual_review``, with a link to
it in the admin (``signup_review_staff_notify``, sent by the pipeline's decision step once it
commits); the applicant hears the staff decision, approved or rejected with the reason
(``signup_decision_notify``, sent once the decision commits). A message that cannot be sent is
logged: the decision stands and the admin lists the application either way.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User
from audit import actions
from audit.services import audit_record
from customers.models import Organization, OrganizationStatus
from signup.models import SignupApplication, SignupReason, SignupStatus
from signup.services.intake import enqueue_on_commit
from signup.services.steps import (
    NO_DUPLICATE,
    RERUN_REQUESTED,
    STEP_CLASSIFICATION,
    STEP_DECISION,
    STEP_DUPLICATE,
    STEP_PROVISIONING,
    STEP_STAFF_REVIEW,
    db_alias,
    lock_application,
    record_step,
    step_done,
    step_result,
)
from tenancy.context import ORGANIZATION, context, current_scope

logger = logging.getLogger(__name__)


def _public_url(path: str) -> str:
    return settings.SIGNUP_PUBLIC_URL.rstrip("/") + path


def signup_review_staff_notify(*, application_id: uuid.UUID | str) -> int:
    """Tell every active staff member that an application waits for their review; returns
    how many were told."""
    application = SignupApplication.objects.get(id=application_id)
    staff = sorted(
        User.objects.filter(is_staff=True, is_active=True).values_list("email", flat=True)
    )
    if not staff:
        logger.warning("Signup %s is in review, but there are no staff to tell", application_id)
        return 0
    body = render_to_string(
        "signup/staff_review_email.txt",
        {
            "application": application,
            "admin_link": _public_url(
                reverse("admin:signup_signupapplication_change", args=[application.id])
            ),
        },
    )
    try:
        EmailMessage(
            subject=f"Signup to review: {application.company_name}", body=body, bcc=staff
        ).send()
    except Exception:
        logger.exception("Could not tell staff about signup %s in review", application_id)
        return 0
    return len(staff)


def signup_decision_notify(*, application_id: uuid.UUID | str, reason: str = "") -> bool:
    """Tell the applicant what staff decided (the application's status: approved or rejected,
    with ``reason``)."""
    application = SignupApplication.objects.get(id=application_id)
    approved = application.status == SignupStatus.APPROVED
    body = render_to_string(
        "signup/decision_email.txt",
        {
            "application": application,
            "approved": approved,
            "reason": reason,
            "provisioned": application.provisioned_organization_id is not None,
            "confirmed": application.email_confirmed_at is not None,
            "login_link": _public_url(reverse("accounts:login")),
            "status_link": _public_url(
                reverse("signup:status", kwargs={"token": application.status_token})
            ),
        },
    )
    subject = (
        "Your Fastn partner application is approved"
        if approved
        else "Your Fastn partner application was not approved"
    )
    try:
        EmailMessage(subject=subject, body=body, to=[application.email]).send()
    except Exception:
        logger.exception("Could not tell the applicant of signup %s the decision", application_id)
        return False
    return True


class SignupActionRefused(ValueError):
    """A staff action that does not fit the application's state; the message says why."""


def _staff_record(
    application: SignupApplication, acting_user: Any, result: str, **detail: Any
) -> None:
    record_step(
        application,
        STEP_STAFF_REVIEW,
        result,
        staff_id=str(acting_user.pk),
        staff_email=acting_user.email,
        **detail,
    )


def _organization_write(
    *,
    organization_id: uuid.UUID,
    acting_user: Any,
    action: str,
    change: Callable[[], dict[str, Any]],
) -> None:
    """Run ``change`` against the organization and audit it there, in the same transaction.

    In the admin's platform scope the platform login may write any organization; elsewhere
    the organization's own context is entered.
    """

    def write() -> None:
        after = change()
        audit_record(
            org_id=organization_id,
            actor=acting_user,
            action=action,
            target_type="organization",
            target_id=organization_id,
            after=after,
        )

    scope = current_scope()
    if scope is not None and scope.platform:
        write()
    else:
        with context(org_id=organization_id, role=ORGANIZATION, user_id=acting_user.pk):
            write()


def _set_organization_status(
    organization_id: uuid.UUID,
    acting_user: Any,
    status: str,
    application: SignupApplication,
    *,
    action: str,
) -> None:
    def change() -> dict[str, Any]:
        # An organization being deleted stays deleting, whatever staff decide meanwhile.
        Organization.objects.live().filter(id=organization_id).update(status=status)
        return {"status": status, "signup_application": str(application.id)}

    _organization_write(
        organization_id=organization_id,
        acting_user=acting_user,
        action=action,
        change=change,
    )


def signup_application_approve(
    *, acting_user: Any, application_id: uuid.UUID | str
) -> SignupApplication:
    """Approve an application in review or a provisional one. A provisioned provisional
    organization becomes active (staff confirm it); otherwise the applicant is provisioned
    as soon as the email is confirmed."""
    with transaction.atomic(using=db_alias()):
        application = lock_application(application_id)
        if application.status not in (SignupStatus.MANUAL_REVIEW, SignupStatus.PROVISIONAL):
            raise SignupActionRefused(
                f"Only applications in review or provisional can be approved, not "
                f"{application.get_status_display().lower()} ones."
            )
        previous = application.status
        application.status = SignupStatus.APPROVED
        application.reason = SignupReason.STAFF_DECISION
        _staff_record(application, acting_user, SignupStatus.APPROVED, previous=previous)
        application.save(update_fields=["status", "reason", "steps", "updated_at"])
        organization_id = application.provisioned_organization_id
        if organization_id is not None:
            _set_organization_status(
                organization_id,
                acting_user,
                OrganizationStatus.ACTIVE,
                application,
                action=actions.SIGNUP_STAFF_APPROVE,
            )
        elif application.email_confirmed_at is not None:
            enqueue_on_commit(application_id)
        transaction.on_commit(
            partial(signup_decision_notify, application_id=application.id), using=db_alias()
        )
    return application


def signup_application_reject(
    *, acting_user: Any, application_id: uuid.UUID | str, reason: str
) -> SignupApplication:
    """Reject with a reason the applicant sees. A provisioned organization is suspended:
    its members keep read access, and nothing else."""
    reason = reason.strip()
    if not reason:
        raise SignupActionRefused("Give the reason the applicant will see.")
    with transaction.atomic(using=db_alias()):
        application = lock_application(application_id)
        if application.status == SignupStatus.REJECTED:
            raise SignupActionRefused("This application is already rejected.")
        previous = application.status
        application.status = SignupStatus.REJECTED
        application.reason = SignupReason.STAFF_DECISION
        _staff_record(
            application, acting_user, SignupStatus.REJECTED, previous=previous, reason=reason
        )
        application.save(update_fields=["status", "reason", "steps", "updated_at"])
        if application.provisioned_organization_id is not None:
            _set_organization_status(
                application.provisioned_organization_id,
                acting_user,
                OrganizationStatus.SUSPENDED,
                application,
                action=actions.SIGNUP_STAFF_REJECT,
            )
        transaction.on_commit(
            partial(signup_decision_notify, application_id=application.id, reason=reason),
            using=db_alias(),
        )
    return application


def signup_application_rerun_classification(
    *, acting_user: Any, application_id: uuid.UUID | str
) -> SignupApplication:
    """Classify again and decide again; only before anything was provisioned."""
    with transaction.atomic(using=db_alias()):
        application = lock_application(application_id)
        if application.provisioned_organization_id is not None or step_done(
            application, STEP_PROVISIONING
        ):
            raise SignupActionRefused("This application is provisioned already.")
        if step_result(application, STEP_DUPLICATE) != NO_DUPLICATE:
            raise SignupActionRefused(
                "Only applications that passed the email and duplicate checks are classified."
            )
        previous = application.status
        _staff_record(application, acting_user, RERUN_REQUESTED, previous=previous)
        record_step(application, STEP_CLASSIFICATION, RERUN_REQUESTED, done=False)
        record_step(application, STEP_DECISION, RERUN_REQUESTED, done=False)
        application.status = SignupStatus.PENDING
        application.reason = ""
        application.llm_failures = 0
        application.save(update_fields=["status", "reason", "llm_failures", "steps", "updated_at"])
        enqueue_on_commit(application_id)
    return application
