"""The preamble every roles write shares: its organization in scope, one transaction, and the
acting member holding the write's key; the refusals more than one write raises; and the audit
row of a role, membership or invitation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError

from audit.services import ORGANIZATION_WIDE, audit_record
from customers.models import Customer, Organization
from roles.models import Invitation, Membership, Role
from roles.selectors import (
    authorize,
    membership_change_refusal,
    role_assignment_refusal,
    role_change_refusal,
)
from tenancy.context import atomic, require_scope


def organization_of(row: Any) -> Organization:
    """The organization an org-scoped row (role, membership, invitation…) belongs to."""
    return Organization.objects.get(id=row.org_id)


def _acting_membership(acting_user: Any, organization: Organization) -> Membership:
    user_id = getattr(acting_user, "pk", None)
    membership = (
        Membership.objects.select_related("role")
        .filter(org_id=organization.id, user_id=user_id)
        .first()
        if user_id is not None
        else None
    )
    if membership is None:
        raise ValidationError("You are not a member of this organization.")
    return membership


@contextmanager
def acting_member(acting_user: Any, organization: Organization, key: str) -> Iterator[Membership]:
    """Check that ``organization`` is the one in scope, open a transaction, and yield the acting
    user's membership once it holds ``key`` (``PermissionDenied`` otherwise)."""
    if require_scope().org_id != organization.id:
        raise ValidationError("This organization is not the one in scope.")
    with atomic():
        membership = _acting_membership(acting_user, organization)
        authorize(membership, key, organization)
        yield membership


def refuse_membership_change(actor: Membership, target: Membership) -> None:
    refusal = membership_change_refusal(actor, target)
    if refusal:
        raise ValidationError(refusal)


def refuse_role_change(actor: Membership, role: Role) -> None:
    refusal = role_change_refusal(actor, role)
    if refusal:
        raise ValidationError(refusal)


def refuse_role_assignment(actor: Membership, role: Role, *, field: str | None = "role") -> None:
    """``ValidationError`` (on ``field``, or on the form) if ``actor`` may not give ``role``."""
    refusal = role_assignment_refusal(actor, role)
    if refusal:
        raise ValidationError({field: refusal} if field else refusal)


def refuse_unrestricted(role: Role, customer: Customer | None) -> None:
    if role.customer_restricted and customer is None:
        raise ValidationError(
            {"restricted_customer": f"The {role.name} role is always limited to one customer."}
        )


def customer_label(customer: Customer | None) -> str:
    return customer.name if customer is not None else ORGANIZATION_WIDE


_TARGET_TYPES: dict[type[Any], str] = {
    Role: "role",
    Membership: "membership",
    Invitation: "invitation",
}


def audit_row(
    actor: Any,
    action: str,
    target: Role | Membership | Invitation,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """The audit row of a write to ``target``: its type and id, and the customer a membership or
    invitation is limited to."""
    audit_record(
        actor=actor,
        action=action,
        target_type=_TARGET_TYPES[type(target)],
        target_id=target.id,
        subject_customer_id=getattr(target, "restricted_customer_id", None),
        before=before,
        after=after,
    )
