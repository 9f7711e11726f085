"""Writes about a person's account: its sign-in and security events in the audit log, and its
two-factor authentication (``accounts.two_factor`` holds the mechanics).

A person belongs to no one organization, and audit rows belong to one (SPEC §5), so an account
event is written once in every organization where the person is an active member, in that
organization's scope (narrowed to the member's customer for a customer-restricted member, whose
row then shows under that customer). Each row carries the request's address and user agent
(``audit.origin``). An attempt on an address that has no account belongs to no organization:
django-axes keeps it (with its address) for the lockout, and no audit row is written.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import two_factor
from accounts.models import User
from accounts.two_factor import CodeCheck
from audit import actions
from audit.services import audit_organization, audit_record
from customers.models import HIDDEN_ORGANIZATION_STATES, Organization
from customers.services.organizations import require_organization_in_scope
from dataplane.encryption import decrypt_credentials, encrypt_credentials
from roles.models import Membership, MembershipStatus
from tenancy.context import CUSTOMER, ORGANIZATION, context, current_scope


def _active_memberships(memberships: Any) -> list[tuple[uuid.UUID, uuid.UUID | None]]:
    """(organization, restricted customer) of each active membership among ``memberships``."""
    return list(
        memberships.filter(status=MembershipStatus.ACTIVE)
        .exclude(org__status__in=HIDDEN_ORGANIZATION_STATES)
        .values_list("org_id", "restricted_customer_id")
    )


def account_event_record(*, user: User, action: str, after: dict[str, Any] | None = None) -> int:
    """Record ``action`` about ``user``'s account in each of their organizations; returns how
    many rows were written. The user is the actor: for a failed sign-in, the account tried.
    In the platform scope (the staff admin's pages) each row names its organization; elsewhere
    each is written in its organization's scope."""

    def write(restricted: uuid.UUID | None, org_id: uuid.UUID | None = None) -> None:
        audit_record(
            actor=user,
            action=action,
            target_type="user",
            target_id=user.pk,
            subject_customer_id=restricted,
            after=after,
            org_id=org_id,
        )

    scope = current_scope()
    if scope is not None and scope.platform:
        memberships = _active_memberships(Membership.objects.filter(user_id=user.pk))
        for org_id, restricted in memberships:
            write(restricted, org_id)
        return len(memberships)
    with context(user_id=user.pk):
        memberships = _active_memberships(Membership.objects.of_current_user())
    for org_id, restricted in memberships:
        with context(
            org_id=org_id,
            customer_id=restricted,
            role=CUSTOMER if restricted else ORGANIZATION,
            user_id=user.pk,
        ):
            write(restricted)
    return len(memberships)


# --- Two-factor authentication ----------------------------------------------------------------

REFUSALS: dict[CodeCheck, str] = {
    CodeCheck.WRONG: (
        "That code is not right. Enter the 6-digit code your authenticator app shows now, "
        "or one of your recovery codes."
    ),
    CodeCheck.REUSED: (
        "That code was already used. Wait for your app to show the next one (every 30 seconds)."
    ),
    CodeCheck.SKEWED: (
        "That code is for another time: the clock of your device is more than 30 seconds off. "
        "Set it to update automatically, then enter the code it shows."
    ),
}
_TWO_FACTOR_FIELDS = [
    "totp_secret_encrypted",
    "totp_enabled_at",
    "totp_last_step",
    "recovery_code_digests",
]


class TwoFactorRefused(Exception):
    """A code that was not accepted; ``check`` says why, ``message`` tells the person."""

    def __init__(self, check: CodeCheck) -> None:
        self.check = check
        super().__init__(REFUSALS[check])

    @property
    def message(self) -> str:
        return REFUSALS[self.check]


def _totp_secret(user: User) -> str:
    return decrypt_credentials(user.totp_secret_encrypted)["totp"]


def two_factor_enable(*, user: User, secret: str, code: str, now: float | None = None) -> list[str]:
    """Turn on TOTP with ``secret`` once ``code`` proves the app holds it; returns the new
    recovery codes (shown once, kept only as digests)."""
    if user.has_two_factor:
        raise ValidationError("Two-factor authentication is already on.")
    result = two_factor.check_totp(secret, code, last_step=None, now=now)
    if result.check is not CodeCheck.ACCEPTED:
        raise TwoFactorRefused(result.check)
    codes = two_factor.new_recovery_codes()
    with transaction.atomic():
        user.totp_secret_encrypted = encrypt_credentials({"totp": secret})
        user.totp_enabled_at = timezone.now()
        user.totp_last_step = result.step
        user.recovery_code_digests = [two_factor.recovery_digest(c) for c in codes]
        user.save(update_fields=_TWO_FACTOR_FIELDS)
        account_event_record(user=user, action=actions.AUTH_TWO_FACTOR_ENABLE)
    return codes


def two_factor_verify(*, user: User, code: str, now: float | None = None) -> str:
    """Accept a TOTP code or a recovery code of ``user`` once; returns which it was
    (``totp`` or ``recovery_code``), or raises ``TwoFactorRefused``. Two requests racing with
    one code: the conditional update lets one of them through."""
    if not user.has_two_factor:
        raise TwoFactorRefused(CodeCheck.WRONG)
    if two_factor.looks_like_totp(code):
        result = two_factor.check_totp(
            _totp_secret(user), code, last_step=user.totp_last_step, now=now
        )
        if result.check is not CodeCheck.ACCEPTED or result.step is None:
            raise TwoFactorRefused(result.check)
        claimed = (
            User.objects.filter(pk=user.pk)
            .filter(Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=result.step))
            .update(totp_last_step=result.step)
        )
        if not claimed:
            raise TwoFactorRefused(CodeCheck.REUSED)
        user.totp_last_step = result.step
        return "totp"
    digest = two_factor.recovery_digest(code)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if digest not in locked.recovery_code_digests:
            raise TwoFactorRefused(CodeCheck.WRONG)
        locked.recovery_code_digests = [d for d in locked.recovery_code_digests if d != digest]
        locked.save(update_fields=["recovery_code_digests"])
    user.recovery_code_digests = locked.recovery_code_digests
    return "recovery_code"


def two_factor_failure_record(*, user: User, refused: TwoFactorRefused) -> None:
    account_event_record(
        user=user, action=actions.AUTH_TWO_FACTOR_FAILED, after={"reason": refused.check.value}
    )


def two_factor_disable(*, user: User, password: str, code: str) -> None:
    """Turn two-factor off: the password and a current code (or a recovery code) say so."""
    if not user.check_password(password):
        raise ValidationError({"password": "That password is not right."})
    try:
        two_factor_verify(user=user, code=code)
    except TwoFactorRefused as refused:
        raise ValidationError({"code": refused.message}) from None
    with transaction.atomic():
        user.totp_secret_encrypted = ""
        user.totp_enabled_at = None
        user.totp_last_step = None
        user.recovery_code_digests = []
        user.save(update_fields=_TWO_FACTOR_FIELDS)
        account_event_record(user=user, action=actions.AUTH_TWO_FACTOR_DISABLE)


def recovery_codes_regenerate(*, user: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), once a current code says so."""
    try:
        two_factor_verify(user=user, code=code)
    except TwoFactorRefused as refused:
        raise ValidationError({"code": refused.message}) from None
    codes = two_factor.new_recovery_codes()
    with transaction.atomic():
        user.recovery_code_digests = [two_factor.recovery_digest(c) for c in codes]
        user.save(update_fields=["recovery_code_digests"])
        account_event_record(user=user, action=actions.AUTH_RECOVERY_CODES_REGENERATE)
    return codes


def organization_two_factor_require(
    *, acting_user: User, organization: Organization, required: bool
) -> Organization:
    """Require two-factor authentication of every member of ``organization`` (or stop). The
    member who turns it on must have it: otherwise their next page would lock them out."""
    require_organization_in_scope(organization)
    if required and not acting_user.has_two_factor:
        raise ValidationError(
            "Turn on two-factor authentication for your own account first, then require it."
        )
    before = organization.require_two_factor
    organization.require_two_factor = required
    organization.save(update_fields=["require_two_factor"])
    audit_organization(
        actor=acting_user,
        action=actions.ORGANIZATION_REQUIRE_TWO_FACTOR,
        organization_id=organization.id,
        before={"require_two_factor": before},
        after={"require_two_factor": required},
    )
    return organization
