from __future__ import annotations

import hashlib
import logging
import time
import uuid
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypedDict, Unpack

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from audit import actions
from audit.models import AuditLogEntry
from audit.origin import current_origin
from tenancy.context import TenantContextMissing, atomic, require_scope

logger = logging.getLogger(__name__)

ORGANIZATION_WIDE = "Organization-wide"
# A refused action is recorded once per principal, action and window (SPEC §14).
REFUSAL_WINDOW_SECONDS = 60
# How ``roles.selectors.authorize`` says which catalog key was missing.
MISSING_PERMISSION = "Missing permission "


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
    (which has none) name the organization with ``org_id``. The row carries the address and
    user agent of the request being served (``audit.origin``), if any."""
    scope = require_scope()
    if scope.platform:
        organization = org_id
    elif org_id is not None and org_id != scope.org_id:
        raise TenantContextMissing("Audit rows are written in their organization's scope.")
    else:
        organization = scope.org_id
    if organization is None:
        raise TenantContextMissing("Audit rows belong to an organization; enter its scope.")
    origin = current_origin()
    return AuditLogEntry.objects.create(
        org_id=organization,
        ip_address=origin.ip_address,
        user_agent=origin.user_agent,
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


def audit_refusal(
    *,
    actor: Any,
    principal_id: object,
    permission: str,
    view_name: str,
    method: str,
    subject_customer_id: uuid.UUID | None = None,
    reason: str = "",
    now: float | None = None,
) -> AuditLogEntry | None:
    """Record a refused action (a 403) in the current scope, once per principal and action
    (the view and the permission it lacked, or the ``reason`` of a refusal that is not about a
    permission) per ``REFUSAL_WINDOW_SECONDS``: a client retrying a refused button, or a script
    probing, leaves one row a minute, not thousands. Returns ``None`` for a repeat. When the
    cache cannot be reached every refusal is recorded."""
    scope = require_scope()
    window = int((time.time() if now is None else now) // REFUSAL_WINDOW_SECONDS)
    fingerprint = f"{method} {view_name} {permission} {reason}"
    action = hashlib.sha256(fingerprint.encode()).hexdigest()[:32]
    # Named like the throttles' keys (it throttles rows), so tests start each with none.
    key = f"throttle:audit_refusal:{scope.org_id}:{principal_id}:{action}:{window}"
    try:
        first = cache.add(key, 1, REFUSAL_WINDOW_SECONDS * 2)
    except Exception:  # noqa: BLE001 - an unreachable cache records rather than forgets
        logger.warning("Refusal not deduplicated: the cache is unreachable")
        first = True
    if not first:
        return None
    return audit_record(
        actor=actor,
        action=actions.ACCESS_DENIED,
        target_type="permission" if permission else "",
        target_id=permission,
        subject_customer_id=subject_customer_id,
        after={
            "permission": permission,
            "view": view_name,
            "method": method,
            **({"reason": reason} if reason else {}),
        },
    )


def refused_permission(exception: PermissionDenied) -> str:
    """The catalog key an ``authorize`` refusal names; "" for any other ``PermissionDenied``."""
    message = str(exception)
    return (
        message.removeprefix(MISSING_PERMISSION) if message.startswith(MISSING_PERMISSION) else ""
    )


def audit_request_refusal(
    request: HttpRequest,
    permission: str,
    *,
    actor: Any,
    principal_id: object,
    subject_customer_id: uuid.UUID | None,
    scope: AbstractContextManager[Any] | None = None,
    reason: str = "",
) -> None:
    """Record the request's refused action (``audit_refusal``) in ``scope`` (a context entered
    for the write; by default the scope in force), in a savepoint of its own. The refusal stands
    whether or not it was recorded: a failure is logged, never raised."""
    match = request.resolver_match
    try:
        with scope or nullcontext(), atomic():
            audit_refusal(
                actor=actor,
                principal_id=principal_id,
                permission=permission[:64],
                view_name=match.view_name if match else request.path_info,
                method=request.method or "",
                subject_customer_id=subject_customer_id,
                reason=reason,
            )
    except Exception:
        logger.exception("A refused action could not be recorded in the audit log")


def customer_data_exported(*, actor: Any, customer_id: uuid.UUID) -> AuditLogEntry:
    """A customer's data was exported (SPEC §14): who, which customer, from where."""
    return audit_customer(actor=actor, action=actions.CUSTOMER_EXPORT, customer_id=customer_id)


def audit_log_exported(*, actor: Any, filters: dict[str, Any]) -> AuditLogEntry:
    """The audit log itself was exported, with these filters (empty ones left out)."""
    used = {name: str(value) for name, value in filters.items() if value}
    return audit_record(actor=actor, action=actions.AUDIT_EXPORT, after={"filters": used})
