"""Intake: the application is stored, the confirmation email goes out, the pipeline is queued, and
the applicant's confirmation is recorded."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from signup.emailcheck import EmailInvalid, check_email
from signup.models import SignupApplication, SignupStatus
from signup.services.provisioning import signup_provision
from signup.services.steps import STEP_CONFIRMATION, db_alias, lock_application, record_step

logger = logging.getLogger(__name__)

CONFIRM_SALT = "signup.confirm"
RESEND_INTERVAL = timedelta(seconds=60)


def confirmation_token(application: SignupApplication) -> str:
    return signing.dumps({"application": str(application.id)}, salt=CONFIRM_SALT)


def application_id_from_token(token: str, *, max_age: int | None) -> uuid.UUID:
    """The application a confirmation token names. Raises ``signing.SignatureExpired`` when
    older than ``max_age`` and ``signing.BadSignature`` when forged or malformed."""
    data = signing.loads(token, salt=CONFIRM_SALT, max_age=max_age)
    try:
        return uuid.UUID(str(data["application"]))
    except (KeyError, TypeError, ValueError):
        raise signing.BadSignature("Malformed confirmation token.") from None


def signup_application_create(
    *,
    full_name: str,
    email: str,
    company_name: str,
    company_website: str,
    password_hash: str,
    base_url: str,
) -> SignupApplication:
    """Store the application first; the confirmation email and the pipeline follow the commit.

    Neither a broken mail server nor Redis being down loses the application: both side
    effects are logged on failure and the beat sweep (``signup_sweep_stuck``) retries them.
    """
    with transaction.atomic(using=db_alias()):
        application = SignupApplication.objects.create(
            full_name=full_name,
            email=email,
            company_name=company_name,
            company_website=company_website,
            password_hash=password_hash,
        )
        application_id = application.id
        transaction.on_commit(
            lambda: signup_confirmation_send(application_id=application_id, base_url=base_url),
            using=db_alias(),
            robust=True,
        )
        enqueue_on_commit(application_id)
    return application


def signup_confirmation_send(*, application_id: uuid.UUID | str, base_url: str) -> bool:
    """Email the confirmation link; True when the mail server took it."""
    application = SignupApplication.objects.get(id=application_id)
    if application.email_confirmed_at is not None:
        return False
    try:
        email_domain_ok = not check_email(application.email).is_personal
    except EmailInvalid:
        email_domain_ok = False
    if not email_domain_ok:
        # The email step rejects these; a confirmation link would only promise what cannot come.
        return False
    link = base_url.rstrip("/") + reverse(
        "signup:confirm", kwargs={"token": confirmation_token(application)}
    )
    status_link = base_url.rstrip("/") + reverse(
        "signup:status", kwargs={"token": application.status_token}
    )
    body = render_to_string(
        "signup/confirmation_email.txt",
        {
            "application": application,
            "link": link,
            "status_link": status_link,
            "valid_days": max(1, settings.SIGNUP_CONFIRM_MAX_AGE_SECONDS // 86400),
        },
    )
    try:
        EmailMessage(
            subject="Confirm your email to finish signing up for Fastn",
            body=body,
            to=[application.email],
        ).send()
    except Exception:
        logger.exception("Could not send the signup confirmation for %s", application_id)
        return False
    SignupApplication.objects.filter(id=application_id).update(confirmation_sent_at=timezone.now())
    return True


def signup_confirmation_resend(*, application: SignupApplication, base_url: str) -> bool:
    """Send the link again, at most once a minute; False when it is too soon or pointless."""
    sent_at = application.confirmation_sent_at
    if application.email_confirmed_at or application.status == SignupStatus.REJECTED:
        return False
    if sent_at and timezone.now() - sent_at < RESEND_INTERVAL:
        return False
    return signup_confirmation_send(application_id=application.id, base_url=base_url)


def signup_enqueue(*, application_id: uuid.UUID | str) -> bool:
    """Queue the pipeline. A broker failure is logged and swallowed: the row is committed and
    the sweep enqueues it later."""
    # signup.tasks imports these services to run them; importing it at the top is a cycle.
    from signup.tasks import signup_pipeline_task

    try:
        signup_pipeline_task.apply_async(
            args=[str(application_id)], retry=False, queue=settings.SIGNUP_TASK_QUEUE
        )
    except Exception:
        logger.exception("Could not enqueue signup application %s; the sweep will", application_id)
        return False
    SignupApplication.objects.filter(id=application_id).update(last_enqueued_at=timezone.now())
    return True


def enqueue_on_commit(application_id: uuid.UUID | str) -> None:
    """Queue the pipeline once the current transaction commits (a broker failure is logged)."""
    transaction.on_commit(
        lambda: signup_enqueue(application_id=application_id), using=db_alias(), robust=True
    )


def signup_email_confirm(*, application_id: uuid.UUID | str) -> SignupApplication:
    """The applicant followed the link: record it and provision when the decision allows."""
    with transaction.atomic(using=db_alias()):
        application = lock_application(application_id)
        if application.email_confirmed_at is None:
            application.email_confirmed_at = timezone.now()
            record_step(application, STEP_CONFIRMATION, "confirmed")
            application.save(update_fields=["email_confirmed_at", "steps", "updated_at"])
    try:
        signup_provision(application_id=application_id)
    except Exception:
        # The worker provisions it instead; the applicant's confirmation is already stored.
        logger.exception("Provisioning after confirmation failed for %s", application_id)
        signup_enqueue(application_id=application_id)
    return SignupApplication.objects.get(id=application_id)
