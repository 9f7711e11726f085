"""Writes for the widget: issuing connect links and embed tokens (``connections.share``), and
revoking them.

Every token is issued for an ``EmbedGrant`` row recorded here and named in the token, so it can
be revoked; refreshed tokens keep the grant (``widget.tokens``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from audit import actions
from audit.services import audit_record
from customers.models import Customer, Organization
from customers.states import widget_refusal
from tenancy.context import require_scope
from widget import tokens
from widget.models import EmbedGrant


def embed_token_issue(
    *, acting_user: Any, organization: Organization, customer: Customer, kind: str = tokens.EMBED
) -> str:
    """A token that opens ``customer``'s widget with the End User role for 8 hours, renewable
    for ``tokens.MAX_LIFETIME_SECONDS``, until its grant is revoked.

    The caller has checked ``connections.share`` for this customer. Refused while the widget
    would refuse the customer (suspended, pending activation) or the organization.
    """
    scope = require_scope()
    if scope.org_id != organization.id or customer.org_id != organization.id:
        raise ValueError("The customer's organization is not the one in scope.")
    refusal = widget_refusal(organization=organization, customer=customer)
    if refusal is not None:
        raise ValidationError(
            f"{customer.name}'s widget is refused ({refusal}): no link can be issued.",
            code=refusal,
        )
    issued_at = timezone.now()
    user = acting_user if getattr(acting_user, "pk", None) else None
    grant = EmbedGrant.objects.create(
        org=organization,
        customer=customer,
        kind=kind,
        issued_by=user,
        # A member is shown by the people rule of the page; other principals by their label.
        issued_by_label="" if user else getattr(acting_user, "email", "") or "system",
        issued_at=issued_at,
        expires_at=issued_at + timedelta(seconds=tokens.MAX_LIFETIME_SECONDS),
    )
    token = tokens.issue(
        grant_id=grant.id,
        org_id=organization.id,
        customer_id=customer.id,
        kind=kind,
        root=int(issued_at.timestamp()),
    )
    audit_record(
        actor=acting_user,
        action=actions.CONNECTION_SHARE,
        target_type="customer",
        target_id=customer.id,
        subject_customer_id=customer.id,
        after={"kind": kind, "grant": str(grant.id)},
    )
    return token


def embed_grant_revoke(*, acting_user: Any, grant: EmbedGrant) -> None:
    """End an embed token or connect link and every refresh of it, at once (idempotent).

    The caller has checked ``connections.share`` for the grant's customer.
    """
    locked = EmbedGrant.objects.select_for_update().get(id=grant.id)
    if locked.revoked_at is not None:
        return
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    grant.revoked_at = locked.revoked_at
    audit_record(
        actor=acting_user,
        action=actions.EMBED_TOKEN_REVOKE,
        target_type="embed_token",
        target_id=locked.id,
        subject_customer_id=locked.customer_id,
        before={"kind": locked.kind, "expires_at": locked.expires_at.isoformat()},
        after={"revoked": True},
    )


def connect_link_path(*, organization: Organization, customer: Customer, token: str) -> str:
    base = reverse(
        "widget:home", kwargs={"org_slug": organization.slug, "customer_id": customer.id}
    )
    return f"{base}?token={token}"
