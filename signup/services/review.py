"""Staff review in the Django admin (platform scope): approve, reject with a reason, or classify
again. Each decision is recorded on the application, and in the organization's audit log once the
organization exists."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.db import transaction

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
