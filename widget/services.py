"""Writes for the widget: issuing connect links and embed tokens (``connections.share``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.urls import reverse

from audit import actions
from audit.services import audit_record
from customers.models import Customer, Organization
from customers.states import widget_refusal
from tenancy.context import require_scope
from widget import tokens


def embed_token_issue(
    *, acting_user: Any, organization: Organization, customer: Customer, kind: str = tokens.EMBED
) -> str:
    """A token that opens ``customer``'s widget with the End User role for 8 hours.

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
    token = tokens.issue(org_id=organization.id, customer_id=customer.id, kind=kind)
    audit_record(
        actor=acting_user,
        action=actions.CONNECTION_SHARE,
        target_type="customer",
        target_id=customer.id,
        subject_customer_id=customer.id,
        after={"kind": kind},
    )
    return token


def connect_link_path(*, organization: Organization, customer: Customer, token: str) -> str:
    base = reverse(
        "widget:home", kwargs={"org_slug": organization.slug, "customer_id": customer.id}
    )
    return f"{base}?token={token}"
