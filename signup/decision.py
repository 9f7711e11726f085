"""The decision of SPEC §8.4 as one pure function, so its order is easy to read and to test."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from signup.models import SignupReason, SignupStatus


class EmailVerdict(StrEnum):
    PASSED = "passed"
    INVALID = "invalid"
    PERSONAL = "personal_provider"


class ClassifierState(StrEnum):
    CLASSIFIED = "classified"
    INVALID_OUTPUT = "invalid_output"
    UNREACHABLE = "unreachable"
    NOT_CONFIGURED = "not_configured"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Decision:
    status: SignupStatus
    reason: SignupReason


def decide(
    *,
    email: EmailVerdict,
    duplicate: bool,
    classifier: ClassifierState,
    classification: dict[str, Any] | None,
    approve_min: float,
    provisional_min: float,
) -> Decision:
    """Rejected → manual review → approved → provisional, first match wins (SPEC §8.4)."""
    if email == EmailVerdict.INVALID:
        return Decision(SignupStatus.REJECTED, SignupReason.INVALID_EMAIL)
    if email == EmailVerdict.PERSONAL:
        return Decision(SignupStatus.REJECTED, SignupReason.PERSONAL_EMAIL)
    if duplicate:
        return Decision(SignupStatus.REJECTED, SignupReason.DUPLICATE_DOMAIN)

    if classifier == ClassifierState.CLASSIFIED and classification is not None:
        confidence = float(classification["confidence"])
        is_business = bool(classification["is_business"])
        if not is_business and confidence >= approve_min:
            return Decision(SignupStatus.REJECTED, SignupReason.NOT_A_BUSINESS)
        if classification["red_flags"]:
            return Decision(SignupStatus.MANUAL_REVIEW, SignupReason.RED_FLAGS)
        if confidence < provisional_min:
            return Decision(SignupStatus.MANUAL_REVIEW, SignupReason.LOW_CONFIDENCE)
        if not is_business:
            return Decision(SignupStatus.MANUAL_REVIEW, SignupReason.NOT_A_BUSINESS_UNSURE)
        if not classification["is_saas_vendor"]:
            return Decision(SignupStatus.MANUAL_REVIEW, SignupReason.NOT_A_SAAS_VENDOR)
        if confidence >= approve_min:
            return Decision(SignupStatus.APPROVED, SignupReason.SAAS_BUSINESS)
        return Decision(SignupStatus.PROVISIONAL, SignupReason.MODERATE_CONFIDENCE)

    if classifier == ClassifierState.INVALID_OUTPUT:
        return Decision(SignupStatus.MANUAL_REVIEW, SignupReason.INVALID_OUTPUT)
    if classifier == ClassifierState.NOT_CONFIGURED:
        return Decision(SignupStatus.PROVISIONAL, SignupReason.LLM_NOT_CONFIGURED)
    return Decision(SignupStatus.PROVISIONAL, SignupReason.LLM_UNREACHABLE)
