"""Reads for the widget's grants: which tokens are still in force, and why one is not."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from customers.models import Customer
from widget.models import EmbedGrant
from widget.tokens import EmbedPrincipal


def embed_grant_refusal(*, principal: EmbedPrincipal) -> str | None:
    """Why a validly signed token no longer opens the widget — ``"revoked"``, ``"expired"``
    (its grant's end has passed) or ``"invalid"`` (no such grant for this customer) — or
    ``None``. Runs in the token's customer scope, which sees only that customer's grants."""
    grant = EmbedGrant.objects.filter(
        id=principal.grant_id, org_id=principal.org_id, customer_id=principal.customer_id
    ).first()
    if grant is None or grant.kind != principal.kind:
        return "invalid"
    if grant.revoked_at is not None:
        return "revoked"
    if grant.expires_at <= timezone.now():
        return "expired"
    return None


def embed_grants_active() -> QuerySet[EmbedGrant]:
    """The scope's grants still in force, for live customers, soonest to end first."""
    return (
        EmbedGrant.objects.active()
        .filter(customer__in=Customer.objects.live())
        .select_related("customer", "issued_by")
        .order_by("expires_at", "id")
    )
