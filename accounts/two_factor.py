"""Two-factor authentication: TOTP codes (RFC 6238, ``pyotp``) and recovery codes.

The mechanics only, no writes (those are ``accounts.services``): a new secret and its QR code
(an SVG data URI drawn by ``segno``, nothing fetched from anywhere), the check of a six-digit
code, and recovery codes with their digests.

A code is accepted for the current 30-second step or one step either side (a clock up to about
30 seconds off); a step at or before the last one accepted is refused as reused, so a code
seen over someone's shoulder cannot be replayed. A code that matches a step further away is
told apart from a wrong one (``SKEWED``), so the person learns that their clock is off.
Recovery codes are ten random codes of ten characters (50 bits each), shown once; only their
SHA-256 digests are kept, and each works once.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from django.http import HttpRequest

ISSUER = "Fastn Console"
STEP_SECONDS = 30
TOLERANCE_STEPS = 1
# How far we look to tell "your clock is off" from "wrong code" (never accepted).
SKEW_DIAGNOSIS_STEPS = 10
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


# Session keys. VERIFIED: this session passed a second factor (at sign-in or at enrolment).
VERIFIED_SESSION_KEY = "accounts.two_factor.verified"
PENDING_SESSION_KEY = "accounts.two_factor.pending"  # password right, code still to come
SETUP_SECRET_SESSION_KEY = "accounts.two_factor.setup_secret"
CODES_SESSION_KEY = "accounts.two_factor.codes_once"  # recovery codes, shown once
PENDING_MAX_AGE_SECONDS = 300


def session_verified(request: HttpRequest) -> bool:
    """Whether the signed-in person has two-factor on and passed it in this session."""
    user = request.user
    return bool(
        getattr(user, "has_two_factor", False) and request.session.get(VERIFIED_SESSION_KEY)
    )


class CodeCheck(enum.Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    REUSED = "reused"
    SKEWED = "skewed"


@dataclass(frozen=True)
class TotpResult:
    check: CodeCheck
    step: int | None = None


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=email, issuer_name=ISSUER
    )


def qr_code_data_uri(uri: str) -> str:
    """The ``otpauth://`` URI as a QR code, an SVG ``data:`` URI for an ``<img>``."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def normalized(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def looks_like_totp(code: str) -> bool:
    code = normalized(code)
    return len(code) == 6 and code.isdigit()


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def totp_at(secret: str, step: int) -> str:
    """The code of ``step`` (what an authenticator app shows during it)."""
    return str(pyotp.TOTP(secret, interval=STEP_SECONDS).generate_otp(step))


def check_totp(
    secret: str, code: str, *, last_step: int | None, now: float | None = None
) -> TotpResult:
    code = normalized(code)
    if not looks_like_totp(code):
        return TotpResult(CodeCheck.WRONG)
    step = current_step(now)
    for offset in sorted(range(-TOLERANCE_STEPS, TOLERANCE_STEPS + 1), key=abs):
        candidate = step + offset
        if hmac.compare_digest(totp_at(secret, candidate), code):
            if last_step is not None and candidate <= last_step:
                return TotpResult(CodeCheck.REUSED, candidate)
            return TotpResult(CodeCheck.ACCEPTED, candidate)
    for offset in range(-SKEW_DIAGNOSIS_STEPS, SKEW_DIAGNOSIS_STEPS + 1):
        if abs(offset) > TOLERANCE_STEPS and hmac.compare_digest(
            totp_at(secret, step + offset), code
        ):
            return TotpResult(CodeCheck.SKEWED)
    return TotpResult(CodeCheck.WRONG)


def new_recovery_codes() -> list[str]:
    """Codes as shown: ``abcde-fghjk``."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_digest(code: str) -> str:
    return hashlib.sha256(normalized(code).encode()).hexdigest()
