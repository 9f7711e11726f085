"""The pipeline's steps (SPEC §8): email check, duplicate domain, classification, decision, then
provisioning. Each step runs under a lock of the application, returns at once when it is already
done, and records its result in the same transaction as its effect; the steps up to the
decision share one lock and one save. The call to the model runs outside any lock and holding
no database connection, in its own task when the pipeline runs on workers (``signup.tasks``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from signup import llm
from signup.decision import ClassifierState, EmailVerdict, decide
from signup.emailcheck import EmailInvalid, check_email
from signup.models import SignupApplication, SignupStatus
from signup.services.provisioning import domain_holder, record_duplicate, signup_provision
from signup.services.review import signup_review_staff_notify
from signup.services.steps import (
    DUPLICATE,
    NO_DUPLICATE,
    RERUN_REQUESTED,
    RETRYING,
    SKIPPED,
    STEP_CLASSIFICATION,
    STEP_DECISION,
    STEP_DUPLICATE,
    STEP_EMAIL,
    STEP_STAFF_REVIEW,
    db_alias,
    latest_step,
    lock_application,
    record_step,
    step_done,
    step_result,
)


class ClassificationDeferred(Exception):
    """The model was unreachable; run the pipeline again after ``countdown`` seconds."""

    def __init__(self, countdown: float) -> None:
        super().__init__(f"classification deferred by {countdown} s")
        self.countdown = countdown


def signup_pipeline_advance(
    *,
    application_id: uuid.UUID | str,
    hand_off: Callable[[uuid.UUID | str], object] | None = None,
) -> str:
    """Run every step that can run now, in order; returns the application's status.

    The steps up to the decision share one lock of the application (one transaction, one
    save); each still returns at once when it is done. Without ``hand_off`` the model is
    called here. With it, a classification that needs the model is handed to
    ``hand_off(application_id)`` after the commit (the worker queues it for the thread-pool
    worker, which runs ``signup_classify`` and queues the pipeline again), and the pipeline
    stops until its result is recorded.

    Raises ClassificationDeferred when the model should be tried again later.
    """
    with transaction.atomic(using=db_alias()):
        application = lock_application(application_id)
        recorded = len(application.steps)
        _email_step(application)
        _duplicate_step(application)
        applicant = _classification_due(application)
        if applicant is None:
            _decision_step(application)
        if len(application.steps) != recorded:
            application.save()
    if applicant is not None:
        if hand_off is not None:
            hand_off(application_id)
            return str(application.status)
        signup_classify(application_id=application_id)
        with transaction.atomic(using=db_alias()):
            application = lock_application(application_id)
            if _decision_step(application):
                application.save(update_fields=["status", "reason", "steps", "updated_at"])
    return str(signup_provision(application_id=application_id).status)


def _email_step(application: SignupApplication) -> None:
    """Under the caller's lock; the caller saves."""
    if step_done(application, STEP_EMAIL):
        return
    try:
        checked = check_email(application.email)
    except EmailInvalid as exc:
        record_step(application, STEP_EMAIL, EmailVerdict.INVALID, error=str(exc))
        return
    application.email = checked.email
    application.email_domain = checked.registrable_domain
    application.hint = f"Did you mean {checked.hint}?" if checked.hint else ""
    verdict, detail = (
        (
            EmailVerdict.PERSONAL,
            {"provider": checked.personal_provider, "disposable": checked.disposable},
        )
        if checked.is_personal
        else (EmailVerdict.PASSED, {"hint": checked.hint})
    )
    record_step(application, STEP_EMAIL, verdict, domain=checked.registrable_domain, **detail)


def _duplicate_step(application: SignupApplication) -> None:
    """Under the caller's lock; the caller saves."""
    if step_done(application, STEP_DUPLICATE) or not step_done(application, STEP_EMAIL):
        return
    if step_result(application, STEP_EMAIL) != EmailVerdict.PASSED:
        record_step(application, STEP_DUPLICATE, SKIPPED)
        return
    holder = domain_holder(application.email_domain)
    if holder is None:
        record_step(application, STEP_DUPLICATE, NO_DUPLICATE)
    else:
        record_duplicate(application, STEP_DUPLICATE, holder)


def _llm_window_over(application: SignupApplication) -> bool:
    """Whether the first failed call of the current classification run is older than the
    retry window (a worker that was down for a while does not buy the model more tries)."""
    first_failure: str | None = None
    for entry in application.steps:
        if entry.get("step") != STEP_CLASSIFICATION:
            continue
        if entry.get("result") == RERUN_REQUESTED:
            first_failure = None
        elif entry.get("result") == RETRYING and first_failure is None:
            first_failure = entry["at"]
    if first_failure is None:
        return False
    window = timedelta(seconds=settings.SIGNUP_LLM_RETRY_WINDOW_SECONDS)
    return timezone.now() - datetime.fromisoformat(first_failure) > window


def _classification_due(application: SignupApplication) -> llm.ApplicantData | None:
    """Under the caller's lock: record the classification when it needs no model (skipped, not
    configured; the caller saves); the applicant's data when the model must be asked."""
    if step_done(application, STEP_CLASSIFICATION) or not step_done(application, STEP_DUPLICATE):
        return None
    if step_result(application, STEP_DUPLICATE) != NO_DUPLICATE:
        record_step(application, STEP_CLASSIFICATION, ClassifierState.SKIPPED)
        return None
    if not llm.is_configured():
        record_step(application, STEP_CLASSIFICATION, ClassifierState.NOT_CONFIGURED)
        return None
    return llm.ApplicantData(
        full_name=application.full_name,
        email=application.email,
        company_name=application.company_name,
        company_website=application.company_website,
    )


def _classification_prepare(application_id: uuid.UUID | str) -> llm.ApplicantData | None:
    with transaction.atomic(using=db_alias()):
        application = lock_application(application_id)
        recorded = len(application.steps)
        applicant = _classification_due(application)
        if len(application.steps) != recorded:
            application.save(update_fields=["steps", "updated_at"])
        return applicant


def _release_connection() -> None:
    """Hold no database connection while waiting on the model: a thread-pool worker would keep
    one per waiting thread. (Inside an outer transaction, as in a test, there is none to give.)"""
    connection = connections[db_alias()]
    if not connection.in_atomic_block:
        connection.close()


def signup_classify(*, application_id: uuid.UUID | str) -> None:
    """The classification step: ask the model, outside any lock and holding no connection,
    then record its answer under the lock unless another run recorded one first (two runs at
    once store one result). Raises ClassificationDeferred when the model should be tried
    again later."""
    applicant = _classification_prepare(application_id)
    if applicant is None:
        return
    _release_connection()
    try:
        result = llm.classify(applicant)
    except (llm.LLMUnavailable, llm.LLMNotConfigured) as exc:
        _classification_failed(application_id, str(exc))
        return

    with transaction.atomic(using=db_alias()):
        application = lock_application(application_id)
        if step_done(application, STEP_CLASSIFICATION):
            return
        application.classification = result.classification
        application.llm_model = result.model[:80]
        application.prompt_version = llm.PROMPT_VERSION
        application.raw_response = result.raw_response
        application.latency_ms = result.latency_ms
        state = ClassifierState.CLASSIFIED if result.is_valid else ClassifierState.INVALID_OUTPUT
        record_step(
            application,
            STEP_CLASSIFICATION,
            state,
            error=" / ".join(result.errors),
            latency_ms=result.latency_ms,
            model=result.model,
        )
        application.save()


def _classification_failed(application_id: uuid.UUID | str, error: str) -> None:
    """Count a failed call; give up (outcome provisional) after the last try or the window."""
    with transaction.atomic(using=db_alias()):
        application = lock_application(application_id)
        if step_done(application, STEP_CLASSIFICATION):
            return
        application.llm_failures += 1
        attempt = application.llm_failures
        give_up = attempt >= settings.SIGNUP_LLM_MAX_TRIES or _llm_window_over(application)
        if give_up:
            record_step(
                application,
                STEP_CLASSIFICATION,
                ClassifierState.UNREACHABLE,
                error=error,
                attempt=attempt,
            )
        else:
            record_step(
                application,
                STEP_CLASSIFICATION,
                RETRYING,
                error=error,
                done=False,
                attempt=attempt,
            )
        application.save(update_fields=["llm_failures", "steps", "updated_at"])
    if not give_up:
        delays = settings.SIGNUP_LLM_RETRY_DELAYS
        raise ClassificationDeferred(delays[min(attempt, len(delays)) - 1])


def _staff_decided(application: SignupApplication) -> bool:
    entry = latest_step(application, STEP_STAFF_REVIEW)
    return bool(entry and entry["result"] in (SignupStatus.APPROVED, SignupStatus.REJECTED))


def _decision_step(application: SignupApplication) -> bool:
    """Under the caller's lock; True when it recorded the decision (the caller saves)."""
    if step_done(application, STEP_DECISION):
        return False
    email = step_result(application, STEP_EMAIL)
    duplicate = step_result(application, STEP_DUPLICATE)
    classifier = step_result(application, STEP_CLASSIFICATION)
    if email is None:
        return False
    if email == EmailVerdict.PASSED and (duplicate is None or classifier is None):
        return False
    if _staff_decided(application):
        # A reviewer's decision stands; the pipeline only records that it saw it.
        record_step(
            application,
            STEP_DECISION,
            application.status,
            reason=application.reason,
            kept_staff_decision=True,
        )
        return True
    decision = decide(
        email=EmailVerdict(email),
        duplicate=duplicate == DUPLICATE,
        classifier=ClassifierState(classifier or ClassifierState.SKIPPED),
        classification=application.classification,
        approve_min=settings.SIGNUP_APPROVE_MIN,
        provisional_min=settings.SIGNUP_PROVISIONAL_MIN,
    )
    application.status = decision.status
    application.reason = decision.reason
    record_step(
        application,
        STEP_DECISION,
        decision.status,
        reason=decision.reason,
        approve_min=settings.SIGNUP_APPROVE_MIN,
        provisional_min=settings.SIGNUP_PROVISIONAL_MIN,
    )
    if decision.status == SignupStatus.MANUAL_REVIEW:
        transaction.on_commit(
            partial(signup_review_staff_notify, application_id=application.id),
            using=db_alias(),
        )
    return True
