"""Provisioning (SPEC §8.5): the account and the organization, once the outcome allows it and the
email is confirmed; and the join request when another organization already holds the domain."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, connections, transaction

from accounts.models import User
from audit import actions
from audit.services import audit_record
from customers.models import Organization, OrganizationStatus
from customers.services import organization_create
from roles.models import JoinRequest
from signup.models import SignupApplication, SignupReason, SignupStatus
from signup.services.steps import (
    DUPLICATE,
    PROVISIONED,
    STEP_PROVISIONING,
    db_alias,
    lock_application,
    record_step,
    step_done,
)
from tenancy.context import ORGANIZATION, context


def domain_holder(domain: str) -> Organization | None:
    """The live organization that holds ``domain``, if any."""
    if not domain:
        return None
    return Organization.objects.live().filter(email_domain=domain).first()


def _join_request_create(application: SignupApplication, organization: Organization) -> JoinRequest:
    """A join request on the organization that holds the applicant's domain (idempotent)."""
    with context(org_id=organization.id, role=ORGANIZATION):
        existing = JoinRequest.objects.filter(signup_application_id=application.id).first()
        if existing is not None:
            return existing
        join_request = JoinRequest.objects.create(
            org=organization,
            email=application.email,
            full_name=application.full_name,
            user=User.objects.filter(email__iexact=application.email).first(),
            signup_application_id=application.id,
        )
        audit_record(
            actor=None,
            action=actions.JOIN_REQUEST_CREATE,
            target_type="join_request",
            target_id=join_request.id,
            after={"email": application.email, "source": "signup"},
        )
        return join_request


def record_duplicate(application: SignupApplication, step: str, holder: Organization) -> None:
    """Ask ``holder`` to let the applicant join, and record ``step`` as a duplicate domain."""
    join_request = _join_request_create(application, holder)
    record_step(
        application,
        step,
        DUPLICATE,
        organization_id=str(holder.id),
        join_request_id=str(join_request.id),
    )


def _user_for(application: SignupApplication) -> tuple[User, bool]:
    """The applicant's account and whether it existed; an existing account keeps its password
    (the confirmed email proves the mailbox is theirs)."""
    existing = User.objects.filter(email__iexact=application.email).first()
    if existing is not None:
        return existing, True
    user = User(email=application.email, full_name=application.full_name)
    user.password = application.password_hash
    user.save()
    return user, False


def _lock_domain(domain: str) -> None:
    """Serialize provisioning per domain, so the later of two racing applicants sees the
    earlier one's organization (transaction-scoped: safe behind a pooler)."""
    with connections[db_alias()].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"signup-domain:{domain}"])


def _reject_as_duplicate(application: SignupApplication, holder: Organization) -> None:
    record_duplicate(application, STEP_PROVISIONING, holder)
    application.status = SignupStatus.REJECTED
    application.reason = SignupReason.DUPLICATE_DOMAIN
    application.save(update_fields=["status", "reason", "steps", "updated_at"])


def signup_provision(*, application_id: uuid.UUID | str) -> SignupApplication:
    """Create the account and the organization once the outcome allows it and the email is
    confirmed (SPEC §8.5). Re-checks the domain under a per-domain lock; the later of two
    racing applicants ends rejected / duplicate_domain with a join request."""
    with transaction.atomic(using=db_alias()):
        application = lock_application(application_id)
        ready = (
            application.status in (SignupStatus.APPROVED, SignupStatus.PROVISIONAL)
            and application.email_confirmed_at is not None
            and application.email_domain
        )
        if step_done(application, STEP_PROVISIONING) or not ready:
            return application
        _lock_domain(application.email_domain)
        holder = domain_holder(application.email_domain)
        if holder is not None:
            _reject_as_duplicate(application, holder)
            return application
        status = (
            OrganizationStatus.ACTIVE
            if application.status == SignupStatus.APPROVED
            else OrganizationStatus.PROVISIONAL
        )
        try:
            with transaction.atomic(using=db_alias()):
                user, linked = _user_for(application)
                organization = organization_create(
                    name=application.company_name,
                    owner=user,
                    email_domain=application.email_domain,
                    status=status,
                )
        except IntegrityError:
            # The domain was claimed outside the signup flow (e.g. Settings → General).
            holder = domain_holder(application.email_domain)
            if holder is None:
                raise
            _reject_as_duplicate(application, holder)
            return application
        with context(org_id=organization.id, role=ORGANIZATION, user_id=user.pk):
            audit_record(
                actor=user,
                action=actions.SIGNUP_PROVISION,
                target_type="signup_application",
                target_id=application.id,
                after={"outcome": application.status, "user_linked": linked},
            )
        application.provisioned_organization = organization
        application.provisioned_user = user
        application.password_hash = ""
        record_step(
            application,
            STEP_PROVISIONING,
            PROVISIONED,
            organization_id=str(organization.id),
            organization_status=status,
            user_linked=linked,
        )
        application.save()
    return application
