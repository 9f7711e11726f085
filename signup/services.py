"""Writes of the signup pipeline (SPEC §8).

Every step locks the application row (``select_for_update``), returns at once when the step is
already recorded as done, and records its result (step, result, time, error) in
``SignupApplication.steps`` in the same transaction as its effect. A step run twice therefore
changes nothing, and a task redelivered after a killed worker resumes where the last commit left
off. The slow call to the model happens outside any lock.

Applications are platform-level rows (no organization, no row-level security). Effects inside an
organization — a join request, the new organization, audit rows — enter that organization's
``tenancy.context``; the staff admin's decisions run in the platform scope and write to the
organization there.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import IntegrityError, router, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from customers.models import Organization, OrganizationStatus
from customers.services import organization_create
from roles.models import JoinRequest
from signup import llm
from signup.decision import ClassifierState, EmailVerdict, decide
from signup.emailcheck import EmailInvalid, check_email
from signup.models import SignupApplication, SignupReason, SignupStatus
from tenancy.context import ORGANIZATION, context, current_scope

logger = logging.getLogger(__name__)

STEP_EMAIL = "email"
STEP_DUPLICATE = "duplicate"
STEP_CLASSIFICATION = "classification"
STEP_DECISION = "decision"
STEP_PROVISIONING = "provisioning"
STEP_CONFIRMATION = "confirmation"
STEP_STAFF_REVIEW = "staff_review"
PIPELINE_STEPS = (STEP_EMAIL, STEP_DUPLICATE, STEP_CLASSIFICATION, STEP_DECISION, STEP_PROVISIONING)

CONFIRM_SALT = "signup.confirm"
SKIPPED = "skipped"
RETRYING = "retrying"
RERUN_REQUESTED = "rerun_requested"
PROVISIONED = "provisioned"
DUPLICATE = "duplicate_domain"
NO_DUPLICATE = "none"
RESEND_INTERVAL = timedelta(seconds=60)
SWEEP_BATCH = 500


class ClassificationDeferred(Exception):
    """The model was unreachable; run the pipeline again after ``countdown`` seconds."""

    def __init__(self, countdown: float) -> None:
        super().__init__(f"classification deferred by {countdown} s")
        self.countdown = countdown


class SignupActionRefused(ValueError):
    """A staff action that does not fit the application's state; the message says why."""


# --- Step bookkeeping ---------------------------------------------------------------------


def latest_step(application: SignupApplication, step: str) -> dict[str, Any] | None:
    for entry in reversed(application.steps):
        if entry.get("step") == step:
            return dict(entry)
    return None


def step_done(application: SignupApplication, step: str) -> bool:
    entry = latest_step(application, step)
    return bool(entry and entry.get("done"))


def step_result(application: SignupApplication, step: str) -> str | None:
    entry = latest_step(application, step)
    return str(entry["result"]) if entry and entry.get("done") else None


def _record(
    application: SignupApplication,
    step: str,
    result: str,
    *,
    error: str = "",
    done: bool = True,
    **detail: Any,
) -> None:
    entry = {
        "step": step,
        "result": result,
        "at": timezone.now().isoformat(),
        "error": error[:1000],
        "done": done,
        **detail,
    }
    application.steps = [*application.steps, entry]


def _alias() -> str:
    """The database alias of applications in the current scope (``platform`` in the admin)."""
    return str(router.db_for_write(SignupApplication))


def _locked(application_id: uuid.UUID | str) -> SignupApplication:
    return SignupApplication.objects.select_for_update().get(id=application_id)


# --- Intake -------------------------------------------------------------------------------


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
    with transaction.atomic(using=_alias()):
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
            using=_alias(),
            robust=True,
        )
        transaction.on_commit(
            lambda: signup_enqueue(application_id=application_id), using=_alias(), robust=True
        )
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


def signup_email_confirm(*, application_id: uuid.UUID | str) -> SignupApplication:
    """The applicant followed the link: record it and provision when the decision allows."""
    with transaction.atomic(using=_alias()):
        application = _locked(application_id)
        if application.email_confirmed_at is None:
            application.email_confirmed_at = timezone.now()
            _record(application, STEP_CONFIRMATION, "confirmed")
            application.save(update_fields=["email_confirmed_at", "steps", "updated_at"])
    try:
        signup_provision(application_id=application_id)
    except Exception:
        # The worker provisions it instead; the applicant's confirmation is already stored.
        logger.exception("Provisioning after confirmation failed for %s", application_id)
        signup_enqueue(application_id=application_id)
    return SignupApplication.objects.get(id=application_id)


# --- Pipeline steps -----------------------------------------------------------------------


def signup_pipeline_advance(*, application_id: uuid.UUID | str) -> str:
    """Run every step that can run now, in order; returns the application's status.

    Raises ClassificationDeferred when the model should be tried again later.
    """
    _email_step(application_id)
    _duplicate_step(application_id)
    _classification_step(application_id)
    _decision_step(application_id)
    signup_provision(application_id=application_id)
    return str(SignupApplication.objects.values_list("status", flat=True).get(id=application_id))


def _email_step(application_id: uuid.UUID | str) -> None:
    with transaction.atomic(using=_alias()):
        application = _locked(application_id)
        if step_done(application, STEP_EMAIL):
            return
        try:
            checked = check_email(application.email)
        except EmailInvalid as exc:
            _record(application, STEP_EMAIL, EmailVerdict.INVALID, error=str(exc))
        else:
            application.email = checked.email
            application.email_domain = checked.registrable_domain
            application.hint = f"Did you mean {checked.hint}?" if checked.hint else ""
            if checked.is_personal:
                _record(
                    application,
                    STEP_EMAIL,
                    EmailVerdict.PERSONAL,
                    domain=checked.registrable_domain,
                    provider=checked.personal_provider,
                )
            else:
                _record(
                    application,
                    STEP_EMAIL,
                    EmailVerdict.PASSED,
                    domain=checked.registrable_domain,
                    hint=checked.hint,
                )
        application.save()


def _domain_holder(domain: str) -> Organization | None:
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
            action="join_request.create",
            target_type="join_request",
            target_id=join_request.id,
            after={"email": application.email, "source": "signup"},
        )
        return join_request


def _duplicate_step(application_id: uuid.UUID | str) -> None:
    with transaction.atomic(using=_alias()):
        application = _locked(application_id)
        if step_done(application, STEP_DUPLICATE) or not step_done(application, STEP_EMAIL):
            return
        if step_result(application, STEP_EMAIL) != EmailVerdict.PASSED:
            _record(application, STEP_DUPLICATE, SKIPPED)
        else:
            holder = _domain_holder(application.email_domain)
            if holder is None:
                _record(application, STEP_DUPLICATE, NO_DUPLICATE)
            else:
                join_request = _join_request_create(application, holder)
                _record(
                    application,
                    STEP_DUPLICATE,
                    DUPLICATE,
                    organization_id=str(holder.id),
                    join_request_id=str(join_request.id),
                )
        application.save(update_fields=["steps", "updated_at"])


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


def _classification_step(application_id: uuid.UUID | str) -> None:
    with transaction.atomic(using=_alias()):
        application = _locked(application_id)
        if step_done(application, STEP_CLASSIFICATION) or not step_done(
            application, STEP_DUPLICATE
        ):
            return
        if step_result(application, STEP_DUPLICATE) != NO_DUPLICATE:
            _record(application, STEP_CLASSIFICATION, ClassifierState.SKIPPED)
            application.save(update_fields=["steps", "updated_at"])
            return
        if not llm.is_configured():
            _record(application, STEP_CLASSIFICATION, ClassifierState.NOT_CONFIGURED)
            application.save(update_fields=["steps", "updated_at"])
            return
        applicant = llm.ApplicantData(
            full_name=application.full_name,
            email=application.email,
            company_name=application.company_name,
            company_website=application.company_website,
        )

    try:
        result = llm.classify(applicant)
    except (llm.LLMUnavailable, llm.LLMNotConfigured) as exc:
        _classification_failed(application_id, str(exc))
        return

    with transaction.atomic(using=_alias()):
        application = _locked(application_id)
        if step_done(application, STEP_CLASSIFICATION):
            return
        application.classification = result.classification
        application.llm_model = result.model[:80]
        application.prompt_version = llm.PROMPT_VERSION
        application.raw_response = result.raw_response
        application.latency_ms = result.latency_ms
        state = ClassifierState.CLASSIFIED if result.is_valid else ClassifierState.INVALID_OUTPUT
        _record(
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
    with transaction.atomic(using=_alias()):
        application = _locked(application_id)
        if step_done(application, STEP_CLASSIFICATION):
            return
        application.llm_failures += 1
        attempt = application.llm_failures
        give_up = attempt >= settings.SIGNUP_LLM_MAX_TRIES or _llm_window_over(application)
        if give_up:
            _record(
                application,
                STEP_CLASSIFICATION,
                ClassifierState.UNREACHABLE,
                error=error,
                attempt=attempt,
            )
        else:
            _record(
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


def _decision_step(application_id: uuid.UUID | str) -> None:
    with transaction.atomic(using=_alias()):
        application = _locked(application_id)
        if step_done(application, STEP_DECISION):
            return
        email = step_result(application, STEP_EMAIL)
        duplicate = step_result(application, STEP_DUPLICATE)
        classifier = step_result(application, STEP_CLASSIFICATION)
        if email is None:
            return
        if email == EmailVerdict.PASSED and (duplicate is None or classifier is None):
            return
        if _staff_decided(application):
            # A reviewer's decision stands; the pipeline only records that it saw it.
            _record(
                application,
                STEP_DECISION,
                application.status,
                reason=application.reason,
                kept_staff_decision=True,
            )
            application.save(update_fields=["steps", "updated_at"])
            return
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
        _record(
            application,
            STEP_DECISION,
            decision.status,
            reason=decision.reason,
            approve_min=settings.SIGNUP_APPROVE_MIN,
            provisional_min=settings.SIGNUP_PROVISIONAL_MIN,
        )
        application.save(update_fields=["status", "reason", "steps", "updated_at"])


# --- Provisioning -------------------------------------------------------------------------


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
    from django.db import connections

    with connections[_alias()].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"signup-domain:{domain}"])


def _reject_as_duplicate(application: SignupApplication, holder: Organization) -> None:
    join_request = _join_request_create(application, holder)
    application.status = SignupStatus.REJECTED
    application.reason = SignupReason.DUPLICATE_DOMAIN
    _record(
        application,
        STEP_PROVISIONING,
        DUPLICATE,
        organization_id=str(holder.id),
        join_request_id=str(join_request.id),
    )
    application.save(update_fields=["status", "reason", "steps", "updated_at"])


def signup_provision(*, application_id: uuid.UUID | str) -> SignupApplication:
    """Create the account and the organization once the outcome allows it and the email is
    confirmed (SPEC §8.5). Re-checks the domain under a per-domain lock; the later of two
    racing applicants ends rejected / duplicate_domain with a join request."""
    with transaction.atomic(using=_alias()):
        application = _locked(application_id)
        ready = (
            application.status in (SignupStatus.APPROVED, SignupStatus.PROVISIONAL)
            and application.email_confirmed_at is not None
            and application.email_domain
        )
        if step_done(application, STEP_PROVISIONING) or not ready:
            return application
        _lock_domain(application.email_domain)
        holder = _domain_holder(application.email_domain)
        if holder is not None:
            _reject_as_duplicate(application, holder)
            return application
        status = (
            OrganizationStatus.ACTIVE
            if application.status == SignupStatus.APPROVED
            else OrganizationStatus.PROVISIONAL
        )
        try:
            with transaction.atomic(using=_alias()):
                user, linked = _user_for(application)
                organization = organization_create(
                    name=application.company_name,
                    owner=user,
                    email_domain=application.email_domain,
                    status=status,
                )
        except IntegrityError:
            # The domain was claimed outside the signup flow (e.g. Settings → General).
            holder = _domain_holder(application.email_domain)
            if holder is None:
                raise
            _reject_as_duplicate(application, holder)
            return application
        with context(org_id=organization.id, role=ORGANIZATION, user_id=user.pk):
            audit_record(
                actor=user,
                action="signup.provision",
                target_type="signup_application",
                target_id=application.id,
                after={"outcome": application.status, "user_linked": linked},
            )
        application.provisioned_organization = organization
        application.provisioned_user = user
        application.password_hash = ""
        _record(
            application,
            STEP_PROVISIONING,
            PROVISIONED,
            organization_id=str(organization.id),
            organization_status=status,
            user_linked=linked,
        )
        application.save()
    return application


# --- Sweep --------------------------------------------------------------------------------


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


# --- Staff review (Django admin, platform scope) ------------------------------------------


def _staff_record(
    application: SignupApplication, acting_user: Any, result: str, **detail: Any
) -> None:
    _record(
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
    organization_id: uuid.UUID, acting_user: Any, status: str, application: SignupApplication
) -> None:
    def change() -> dict[str, Any]:
        Organization.objects.filter(id=organization_id).update(status=status)
        return {"status": status, "signup_application": str(application.id)}

    _organization_write(
        organization_id=organization_id,
        acting_user=acting_user,
        action=f"signup.staff_{'approve' if status == OrganizationStatus.ACTIVE else 'reject'}",
        change=change,
    )


def signup_application_approve(
    *, acting_user: Any, application_id: uuid.UUID | str
) -> SignupApplication:
    """Approve an application in review or a provisional one. A provisioned provisional
    organization becomes active (staff confirm it); otherwise the applicant is provisioned
    as soon as the email is confirmed."""
    with transaction.atomic(using=_alias()):
        application = _locked(application_id)
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
                organization_id, acting_user, OrganizationStatus.ACTIVE, application
            )
        elif application.email_confirmed_at is not None:
            transaction.on_commit(
                lambda: signup_enqueue(application_id=application_id),
                using=_alias(),
                robust=True,
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
    with transaction.atomic(using=_alias()):
        application = _locked(application_id)
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
            )
    return application


def signup_application_rerun_classification(
    *, acting_user: Any, application_id: uuid.UUID | str
) -> SignupApplication:
    """Classify again and decide again; only before anything was provisioned."""
    with transaction.atomic(using=_alias()):
        application = _locked(application_id)
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
        _record(application, STEP_CLASSIFICATION, RERUN_REQUESTED, done=False)
        _record(application, STEP_DECISION, RERUN_REQUESTED, done=False)
        application.status = SignupStatus.PENDING
        application.reason = ""
        application.llm_failures = 0
        application.save(update_fields=["status", "reason", "llm_failures", "steps", "updated_at"])
        transaction.on_commit(
            lambda: signup_enqueue(application_id=application_id), using=_alias(), robust=True
        )
    return application
