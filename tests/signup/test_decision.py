"""SPEC §8.4's decision order, case by case, with the thresholds passed in."""

from __future__ import annotations

from typing import Any

import pytest

from signup.decision import ClassifierState, Decision, EmailVerdict, decide
from signup.models import SignupReason, SignupStatus
from tests.signup.fake_openai import classification


def _decide(
    classifier: ClassifierState = ClassifierState.CLASSIFIED,
    result: dict[str, Any] | None = None,
    *,
    email: EmailVerdict = EmailVerdict.PASSED,
    duplicate: bool = False,
    approve_min: float = 0.85,
    provisional_min: float = 0.60,
) -> Decision:
    return decide(
        email=email,
        duplicate=duplicate,
        classifier=classifier,
        classification=result,
        approve_min=approve_min,
        provisional_min=provisional_min,
    )


@pytest.mark.parametrize(
    ("result", "status", "reason"),
    [
        (classification(confidence=0.95), SignupStatus.APPROVED, SignupReason.SAAS_BUSINESS),
        (classification(confidence=0.85), SignupStatus.APPROVED, SignupReason.SAAS_BUSINESS),
        (
            classification(confidence=0.84),
            SignupStatus.PROVISIONAL,
            SignupReason.MODERATE_CONFIDENCE,
        ),
        (
            classification(confidence=0.60),
            SignupStatus.PROVISIONAL,
            SignupReason.MODERATE_CONFIDENCE,
        ),
        (classification(confidence=0.59), SignupStatus.MANUAL_REVIEW, SignupReason.LOW_CONFIDENCE),
        (
            classification(confidence=0.99, red_flags=["x"]),
            SignupStatus.MANUAL_REVIEW,
            SignupReason.RED_FLAGS,
        ),
        (
            classification(business=False, confidence=0.85),
            SignupStatus.REJECTED,
            SignupReason.NOT_A_BUSINESS,
        ),
        (
            classification(business=False, confidence=0.84),
            SignupStatus.MANUAL_REVIEW,
            SignupReason.NOT_A_BUSINESS_UNSURE,
        ),
        (
            classification(saas=False, confidence=0.99),
            SignupStatus.MANUAL_REVIEW,
            SignupReason.NOT_A_SAAS_VENDOR,
        ),
    ],
)
def test_classified_applications_follow_the_order(result, status, reason) -> None:
    assert _decide(result=result) == Decision(status, reason)


def test_rejections_come_before_everything_else() -> None:
    approve = classification()
    assert (
        _decide(result=approve, email=EmailVerdict.PERSONAL).reason == SignupReason.PERSONAL_EMAIL
    )
    assert _decide(result=approve, email=EmailVerdict.INVALID).reason == SignupReason.INVALID_EMAIL
    assert _decide(result=approve, duplicate=True).reason == SignupReason.DUPLICATE_DOMAIN
    # Not a business with high confidence is rejected even with red flags.
    flagged = classification(business=False, confidence=0.9, red_flags=["spam"])
    assert _decide(result=flagged).status == SignupStatus.REJECTED


def test_invalid_output_goes_to_manual_review() -> None:
    assert _decide(ClassifierState.INVALID_OUTPUT) == Decision(
        SignupStatus.MANUAL_REVIEW, SignupReason.INVALID_OUTPUT
    )


@pytest.mark.parametrize("state", [ClassifierState.UNREACHABLE, ClassifierState.NOT_CONFIGURED])
def test_no_classifier_is_provisional_never_approved(state: ClassifierState) -> None:
    assert _decide(state).status == SignupStatus.PROVISIONAL


def test_thresholds_come_from_the_arguments() -> None:
    result = classification(confidence=0.7)
    strict = _decide(result=result, approve_min=0.95, provisional_min=0.75)
    lenient = _decide(result=result, approve_min=0.7, provisional_min=0.5)
    assert strict.status == SignupStatus.MANUAL_REVIEW
    assert lenient.status == SignupStatus.APPROVED
