from __future__ import annotations

import uuid
from typing import Any, TypedDict, Unpack

from audit.models import AuditLogEntry
from tenancy.context import TenantContextMissing, require_scope

ORGANIZATION_WIDE = "Organization-wide"


def audit_record(
    *,
    actor: Any,
    action: str,
    target_type: str = "",
    target_id: object = "",
    subject_customer_id: uuid.UUID | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    org_id: uuid.UUID | None = None,
    actor_label: str = "",
) -> AuditLogEntry:
    """Write one audit row in the current scope's transaction. ``actor`` is a user or None
    (the system). Data-plane changes pass ids and field names only, never values.

    In a tenant scope the row belongs to the scope's organization; staff in the platform scope
    (which has none) name the organization with ``org_id``."""
    scope = require_scope()
    if scope.platform:
        organization = org_id
    elif org_id is not None and org_id != scope.org_id:
        raise TenantContextMissing("Audit rows are written in their organization's scope.")
    else:
        organization = scope.org_id
    if organization is None:
        raise TenantContextMissing("Audit rows belong to an organization; enter its scope.")
    return AuditLogEntry.objects.create(
        org_id=organization,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label or getattr(actor, "email", "") or "system",
        action=action,
        subject_customer_id=subject_customer_id,
        target_type=target_type,
        target_id=str(target_id),
        before=before or {},
        after=after or {},
    )


class Change(TypedDict, total=False):
    """What a row records of the change: the target's state before and after it."""

    before: dict[str, Any] | None
    after: dict[str, Any] | None


def audit_customer(
    *, actor: Any, action: str, customer_id: uuid.UUID, **change: Unpack[Change]
) -> AuditLogEntry:
    """A row about a customer itself: the customer is both the target and the subject."""
    return audit_record(
        actor=actor,
        action=action,
        target_type="customer",
        target_id=customer_id,
        subject_customer_id=customer_id,
        **change,
    )


def audit_organization(
    *, actor: Any, action: str, organization_id: uuid.UUID, **change: Unpack[Change]
) -> AuditLogEntry:
    """A row about the organization of the scope itself."""
    return audit_record(
        actor=actor, action=action, target_type="organization", target_id=organization_id, **change
    )
