"""Embed tokens and connect links: signed, expiring, one customer, End User permissions.

A token is ``django.core.signing.dumps`` of ``{"g": grant id, "o": org id, "c": customer id,
"k": kind, "r": first issue time}`` signed with ``settings.EMBED_TOKEN_KEY`` under its own salt,
so no other signed value of the project (sessions, password resets) can be passed off as one. It
is valid for ``EMBED_TOKEN_MAX_AGE_SECONDS`` (8 hours). A valid token can be exchanged for a
fresh one (``refresh``) until ``MAX_LIFETIME`` after the first issue, so an embedding page that
stays open keeps working but a leaked token cannot be renewed forever.

Rotation (docs/KEYS.md): ``settings.EMBED_TOKEN_KEY_FALLBACKS`` lists former keys, newest first.
A token signed with one of them still verifies; every new or refreshed token is signed with
``EMBED_TOKEN_KEY``. Dropping a fallback ends the tokens signed with it that were not refreshed.

The grant is the ``widget.models.EmbedGrant`` row ``widget.services.embed_token_issue`` records
for every token it issues; a refreshed token names the same grant. This module only signs and
checks signatures: the widget's resolver also refuses a token whose grant is revoked, past its
end or unknown (``widget.selectors.embed_grant_refusal``), so revoking a grant ends the token
and every refresh of it. A token without a grant (issued before grants existed) is invalid.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured

from roles import catalog

SALT = "fastn.widget.embed-token.v1"
CONNECT_LINK = "link"
EMBED = "embed"
KINDS = (CONNECT_LINK, EMBED)
MAX_LIFETIME_SECONDS = 7 * 24 * 3600
MIN_KEY_LENGTH = 32
END_USER_KEYS = catalog.SYSTEM_ROLES_BY_KEY[catalog.END_USER].permissions
# Organization-level reads a customer-restricted principal may make (SPEC §5.5: connectors,
# agents and tools stay readable to customer-restricted principals).
READABLE_WITHOUT_CUSTOMER = frozenset({"connectors.read", "agents.read"}) & END_USER_KEYS


class TokenInvalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired" or "invalid"


@dataclass(frozen=True)
class EmbedPrincipal:
    """Whoever holds a valid token: the End User role, for that customer only."""

    grant_id: uuid.UUID
    org_id: uuid.UUID
    customer_id: uuid.UUID
    kind: str
    root: int
    token: str

    @property
    def email(self) -> str:
        # What the audit log shows as the actor (there is no user row behind a token).
        return "connect link" if self.kind == CONNECT_LINK else "embed token"

    @property
    def permissions(self) -> frozenset[str]:
        return END_USER_KEYS

    @property
    def is_customer_restricted(self) -> bool:
        return True  # a token opens one customer's widget, nothing more

    def has_catalog_permission(self, key: str, organization: Any, customer: Any) -> bool:
        if organization is None or organization.id != self.org_id:
            return False
        if customer is None:
            return key in READABLE_WITHOUT_CUSTOMER
        return customer.id == self.customer_id and key in END_USER_KEYS


def _key() -> str:
    key = settings.EMBED_TOKEN_KEY
    if not key or len(key) < MIN_KEY_LENGTH:
        raise ImproperlyConfigured(
            "EMBED_TOKEN_KEY must be set to a random value of at least 32 characters."
        )
    return str(key)


def _fallback_keys() -> list[str | bytes]:
    """Former keys that still verify; a short one would let weakly signed tokens in."""
    keys: list[str | bytes] = [str(key) for key in settings.EMBED_TOKEN_KEY_FALLBACKS if key]
    if any(len(key) < MIN_KEY_LENGTH for key in keys):
        raise ImproperlyConfigured(
            f"EMBED_TOKEN_KEY_FALLBACKS holds a key shorter than {MIN_KEY_LENGTH} characters."
        )
    return keys


def issue(
    *,
    grant_id: uuid.UUID,
    org_id: uuid.UUID,
    customer_id: uuid.UUID,
    kind: str,
    root: int | None = None,
) -> str:
    """Sign a token for an issued grant (``widget.services.embed_token_issue`` records it)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    payload = {
        "g": str(grant_id),
        "o": str(org_id),
        "c": str(customer_id),
        "k": kind,
        "r": root or int(time.time()),
    }
    return signing.dumps(payload, key=_key(), salt=SALT, compress=True)


def verify(token: str) -> EmbedPrincipal:
    """The principal of a valid token; ``TokenInvalid("expired" | "invalid")`` otherwise."""
    if not token or len(token) > 1024:
        raise TokenInvalid("invalid")
    try:
        payload = signing.loads(
            token,
            key=_key(),
            fallback_keys=_fallback_keys(),
            salt=SALT,
            max_age=settings.EMBED_TOKEN_MAX_AGE_SECONDS,
        )
    except signing.SignatureExpired:
        raise TokenInvalid("expired") from None
    except signing.BadSignature:
        raise TokenInvalid("invalid") from None
    try:
        return EmbedPrincipal(
            grant_id=uuid.UUID(payload["g"]),
            org_id=uuid.UUID(payload["o"]),
            customer_id=uuid.UUID(payload["c"]),
            kind=payload["k"] if payload["k"] in KINDS else EMBED,
            root=int(payload["r"]),
            token=token,
        )
    except (KeyError, TypeError, ValueError):
        raise TokenInvalid("invalid") from None


def refresh(principal: EmbedPrincipal) -> str:
    """A fresh token of the same grant, refused past ``MAX_LIFETIME_SECONDS``."""
    if time.time() - principal.root > MAX_LIFETIME_SECONDS:
        raise TokenInvalid("expired")
    return issue(
        grant_id=principal.grant_id,
        org_id=principal.org_id,
        customer_id=principal.customer_id,
        kind=principal.kind,
        root=principal.root,
    )
