"""Reads for the signup pages and for other apps (SPEC §3, §8)."""

from __future__ import annotations

from dataclasses import dataclass, field

from signup.decision import ClassifierState, EmailVerdict
from signup.models import SignupApplication, SignupReason, SignupStatus
from signup.services.steps import (
    DUPLICATE,
    NO_DUPLICATE,
    PROVISIONED,
    RETRYING,
    SKIPPED,
    STEP_CLASSIFICATION,
    STEP_CONFIRMATION,
    STEP_DECISION,
    STEP_DUPLICATE,
    STEP_EMAIL,
    STEP_PROVISIONING,
    STEP_STAFF_REVIEW,
    latest_step,
    step_done,
    step_result,
)

DONE = "done"
RUNNING = "running"
WAITING = "waiting"
FAILED = "failed"


def application_for_status_token(token: str) -> SignupApplication | None:
    if not token or len(token) > 64:
        return None
    return SignupApplication.objects.filter(status_token=token).first()


@dataclass(frozen=True)
class StepView:
    label: str
    state: str  # DONE, RUNNING, WAITING, SKIPPED or FAILED
    note: str = ""


@dataclass
class StatusView:
    headline: str
    next_step: str
    tone: str  # info, ok, warning or error
    final: bool
    steps: list[StepView] = field(default_factory=list)
    hint: str = ""
    show_login: bool = False
    can_resend: bool = False


def _provider_kind(application: SignupApplication) -> str:
    entry = latest_step(application, STEP_EMAIL) or {}
    return "disposable email" if entry.get("disposable") else "personal email"


def _email_view(application: SignupApplication) -> StepView:
    result = step_result(application, STEP_EMAIL)
    if result is None:
        return StepView("Work email checked", RUNNING)
    if result == EmailVerdict.PASSED:
        return StepView("Work email checked", DONE, application.email_domain)
    if result == EmailVerdict.PERSONAL:
        return StepView("Work email checked", FAILED, f"{_provider_kind(application)} provider")
    return StepView("Work email checked", FAILED, "not a valid address")


def _duplicate_view(application: SignupApplication) -> StepView:
    label = "Domain not yet on Fastn"
    result = step_result(application, STEP_DUPLICATE)
    if result is None:
        return StepView(label, RUNNING if step_done(application, STEP_EMAIL) else WAITING)
    if result == NO_DUPLICATE:
        return StepView(label, DONE)
    if result == DUPLICATE:
        return StepView(label, FAILED, "an organization already uses this domain")
    return StepView(label, SKIPPED)


def _classification_view(application: SignupApplication) -> StepView:
    label = "Company reviewed"
    result = step_result(application, STEP_CLASSIFICATION)
    if result is None:
        latest = latest_step(application, STEP_CLASSIFICATION)
        if latest and latest.get("result") == RETRYING:
            return StepView(label, RUNNING, "the automatic review is slow; retrying")
        ready = step_result(application, STEP_DUPLICATE) is not None
        return StepView(label, RUNNING if ready else WAITING)
    notes = {
        ClassifierState.CLASSIFIED: "",
        ClassifierState.INVALID_OUTPUT: "passed to a person",
        ClassifierState.UNREACHABLE: "automatic review unavailable",
        ClassifierState.NOT_CONFIGURED: "automatic review switched off",
    }
    if result == ClassifierState.SKIPPED:
        return StepView(label, SKIPPED)
    return StepView(label, DONE, notes.get(ClassifierState(result), ""))


def _decision_view(application: SignupApplication) -> StepView:
    result = step_result(application, STEP_DECISION)
    if result is None:
        return StepView("Decision", WAITING)
    labels = {
        SignupStatus.APPROVED: "approved",
        SignupStatus.PROVISIONAL: "provisionally approved",
        SignupStatus.MANUAL_REVIEW: "in review by a person",
        SignupStatus.REJECTED: "rejected",
    }
    state = FAILED if result == SignupStatus.REJECTED else DONE
    return StepView("Decision", state, labels.get(SignupStatus(result), result))


def _confirmation_view(application: SignupApplication) -> StepView:
    if application.email_confirmed_at:
        return StepView("Email confirmed", DONE)
    return StepView("Email confirmed", WAITING, f"link sent to {application.email}")


def _provisioning_view(application: SignupApplication) -> StepView:
    result = step_result(application, STEP_PROVISIONING)
    if result == PROVISIONED:
        return StepView("Organization created", DONE)
    if result == DUPLICATE:
        return StepView("Organization created", FAILED, "the domain was just taken")
    return StepView("Organization created", WAITING)


def _staff_reason(application: SignupApplication) -> str:
    entry = latest_step(application, STEP_STAFF_REVIEW)
    return str(entry.get("reason", "")) if entry else ""


def status_view(application: SignupApplication) -> StatusView:
    """What the status page says, in plain words, and whether it can stop polling."""
    steps = [
        StepView("Application received", DONE),
        _email_view(application),
        _duplicate_view(application),
        _classification_view(application),
        _decision_view(application),
    ]
    status = application.status
    domain = application.email_domain or application.email.rpartition("@")[2]
    confirmed = application.email_confirmed_at is not None
    provisioned = step_result(application, STEP_PROVISIONING) == PROVISIONED
    view: StatusView
    if status == SignupStatus.PENDING:
        view = StatusView(
            "We are checking your application.",
            "This page updates by itself. Meanwhile, open the email we sent to "
            f"{application.email} and confirm your address.",
            "info",
            final=False,
        )
    elif status == SignupStatus.REJECTED:
        view = StatusView(
            _rejection_headline(application, domain),
            _rejection_next(application),
            "error",
            final=True,
        )
    elif status == SignupStatus.MANUAL_REVIEW:
        view = StatusView(
            "Your application is under review.",
            "A Fastn reviewer will look at it, usually within one business day. "
            "Keep this page's address: it shows the decision as soon as there is one.",
            "warning",
            final=False,
        )
    elif provisioned:
        provisional = status == SignupStatus.PROVISIONAL
        view = StatusView(
            "Approved — your organization is ready."
            if not provisional
            else "Provisionally approved — your organization is ready.",
            "Log in with your email address and password."
            + (
                " Until a Fastn reviewer confirms it, your organization has reduced limits "
                "and cannot deploy to production."
                if provisional
                else ""
            ),
            "ok",
            final=True,
            show_login=True,
        )
    else:
        provisional = status == SignupStatus.PROVISIONAL
        view = StatusView(
            "Approved." if not provisional else "Provisionally approved.",
            (
                "Your organization is being created…"
                if confirmed
                else f"Confirm your email: open the link we sent to {application.email} "
                "to create your organization."
            ),
            "ok",
            final=False,
        )
    if status in (SignupStatus.APPROVED, SignupStatus.PROVISIONAL) or (
        status == SignupStatus.PENDING or status == SignupStatus.MANUAL_REVIEW
    ):
        steps.append(_confirmation_view(application))
        steps.append(_provisioning_view(application))
    elif step_done(application, STEP_CONFIRMATION):
        steps.append(_confirmation_view(application))
    view.steps = steps
    view.hint = application.hint
    view.can_resend = (
        not confirmed
        and status != SignupStatus.REJECTED
        and application.confirmation_sent_at is not None
    )
    return view


def _rejection_headline(application: SignupApplication, domain: str) -> str:
    reason = application.reason
    if reason == SignupReason.PERSONAL_EMAIL:
        return f"Rejected because {domain} is a {_provider_kind(application)} provider."
    if reason == SignupReason.INVALID_EMAIL:
        return "Rejected because the email address is not valid."
    if reason == SignupReason.DUPLICATE_DOMAIN:
        return f"An organization on Fastn already uses {domain}."
    if reason == SignupReason.STAFF_DECISION:
        staff_reason = _staff_reason(application)
        return (
            f"Rejected by a Fastn reviewer: {staff_reason}"
            if staff_reason
            else ("Rejected by a Fastn reviewer.")
        )
    label = SignupReason(reason).label if reason in SignupReason.values else reason
    return f"Rejected because {label}."


def _rejection_next(application: SignupApplication) -> str:
    reason = application.reason
    if reason in (SignupReason.PERSONAL_EMAIL, SignupReason.INVALID_EMAIL):
        return "Sign up again with your work email address, the one at your company's domain."
    if reason == SignupReason.DUPLICATE_DOMAIN:
        return (
            "We asked that organization's administrators to add you. Once they accept, "
            "you can log in and work with your colleagues."
        )
    return "If you think this is a mistake, reply to the confirmation email and tell us more."
