"""The beat sweep: nothing stays stuck when Redis, the worker or the mail server was down."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from signup.models import SignupApplication, SignupStatus
from signup.services.intake import signup_confirmation_send, signup_enqueue
from signup.services.steps import STEP_PROVISIONING, step_done

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500


def _needs_pipeline(application: SignupApplication) -> bool:
    if application.status == SignupStatus.PENDING:
        return True
    return (
        application.status in (SignupStatus.APPROVED, SignupStatus.PROVISIONAL)
        and application.email_confirmed_at is not None
        and not step_done(application, STEP_PROVISIONING)
    )


def signup_sweep_stuck(*, now: datetime | None = None) -> list[uuid.UUID]:
    """Enqueue applications whose pipeline has not moved for SIGNUP_STUCK_AFTER_SECONDS and
    resend confirmation emails that never went out. Returns the ids enqueued."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SIGNUP_STUCK_AFTER_SECONDS)
    not_recently_queued = Q(last_enqueued_at__lt=cutoff) | Q(
        last_enqueued_at__isnull=True, created_at__lt=cutoff
    )
    candidates = (
        SignupApplication.objects.filter(not_recently_queued, updated_at__lt=cutoff)
        .filter(
            Q(status=SignupStatus.PENDING)
            | Q(
                status__in=[SignupStatus.APPROVED, SignupStatus.PROVISIONAL],
                email_confirmed_at__isnull=False,
                provisioned_organization__isnull=True,
            )
        )
        .order_by("created_at")[:SWEEP_BATCH]
    )
    enqueued = []
    for application in candidates:
        if _needs_pipeline(application) and signup_enqueue(application_id=application.id):
            enqueued.append(application.id)
    unsent = SignupApplication.objects.filter(
        confirmation_sent_at__isnull=True,
        email_confirmed_at__isnull=True,
        created_at__lt=cutoff,
    ).exclude(status=SignupStatus.REJECTED)[:SWEEP_BATCH]
    for application in unsent:
        signup_confirmation_send(application_id=application.id, base_url=settings.SIGNUP_PUBLIC_URL)
    if enqueued:
        logger.info("Signup sweep enqueued %d stuck applications", len(enqueued))
    return enqueued
