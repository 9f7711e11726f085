"""OAuth 2.0 token refresh (SPEC §11): before expiry (beat's sweep) and after a 401 in a run.
The flow, the token call and what each outcome does are described in ``dataplane.oauth``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from build.models import AuthMethod, Connector
from build.services import connector_client_secret
from dataplane.encryption import CredentialsUnreadable, decrypt_credentials, encrypt_credentials
from dataplane.models import Connection, ConnectionStatus
from dataplane.oauth import (
    REFRESH_BEFORE_EXPIRY,
    REFRESH_LEASE,
    Tokens,
    token_credentials,
    token_request,
)
from dataplane.services import Enter, credential_headers


@dataclass
class RefreshPlan:
    connection_id: uuid.UUID
    connector: Connector
    client_secret: str
    refresh_token: str
    # Set when there is nothing to call: the access token another refresh already stored.
    access_token: str = ""


def _refresh_begin(*, connection_id: Any, stale_access_token: str) -> RefreshPlan | None:
    """Lock the connection and decide: nothing to do (``None``), already refreshed (a plan
    carrying the new access token), or a plan to call the token URL under a lease."""
    connection = Connection.objects.select_for_update().filter(id=connection_id).first()
    if connection is None or connection.token_expires_at is None:
        return None
    connector = Connector.objects.filter(id=connection.connector_id).first()
    if connector is None or not connector.uses_authorization_code:
        return None
    try:
        stored = decrypt_credentials(connection.credentials)
    except CredentialsUnreadable:
        return None
    now = timezone.now()
    access = stored.get("access_token", "")
    if stale_access_token and access and access != stale_access_token:
        return RefreshPlan(connection.id, connector, "", "", access_token=access)
    if not stale_access_token and connection.token_expires_at > now + REFRESH_BEFORE_EXPIRY:
        return None
    if connection.status == ConnectionStatus.REVOKED:
        return None
    if connection.refresh_lease_until and connection.refresh_lease_until > now:
        return None
    if not stored.get("refresh_token"):
        if connection.token_expires_at <= now:
            connection.status = ConnectionStatus.EXPIRED
            connection.status_message = "The access token expired and there is no refresh token."
            connection.save(update_fields=["status", "status_message"])
        return None
    try:
        secret = connector_client_secret(connector)
    except CredentialsUnreadable:
        return None
    connection.refresh_lease_until = now + REFRESH_LEASE
    connection.save(update_fields=["refresh_lease_until"])
    return RefreshPlan(connection.id, connector, secret, stored["refresh_token"])


def _refresh_finish(*, plan: RefreshPlan, tokens: Tokens) -> str:
    """Record what the token endpoint said; returns the connection's status."""
    connection = Connection.objects.select_for_update().filter(id=plan.connection_id).first()
    if connection is None:
        return "gone"
    connection.refresh_lease_until = None
    fields = ["refresh_lease_until", "status", "status_message"]
    if tokens.ok:
        connection.credentials = encrypt_credentials(
            token_credentials(tokens, kept_refresh_token=plan.refresh_token)
        )
        connection.token_expires_at = tokens.expires_at
        connection.status, connection.status_message = ConnectionStatus.ACTIVE, ""
        fields += ["credentials", "token_expires_at"]
    elif tokens.error == "invalid_grant":
        connection.status = ConnectionStatus.REVOKED
        connection.status_message = f"{tokens.message} Reconnect to authorize again."[:500]
    else:
        connection.status, connection.status_message = ConnectionStatus.ERROR, tokens.message[:500]
    connection.save(update_fields=fields)
    return str(connection.status)


def oauth_refresh(
    *, connection_id: Any, enter: Enter, stale_access_token: str = ""
) -> tuple[str, str]:
    """Refresh one connection's tokens (due soon, or ``stale_access_token`` was just refused):
    ``(status, access token to use)``, the token ``""`` when there is none. The caller holds
    no transaction; ``enter()`` is the customer's scope."""
    with enter():
        plan = _refresh_begin(connection_id=connection_id, stale_access_token=stale_access_token)
    if plan is None:
        return "skipped", ""
    if plan.access_token:
        return "already_refreshed", plan.access_token
    tokens = token_request(
        connector=plan.connector,
        client_secret=plan.client_secret,
        grant={"grant_type": "refresh_token", "refresh_token": plan.refresh_token},
        label="the refresh token",
    )
    with enter():
        status = _refresh_finish(plan=plan, tokens=tokens)
    return status, tokens.access_token if tokens.ok else ""


def oauth_headers_after_401(
    *, connection_id: Any, stale_headers: dict[str, str], enter: Enter
) -> dict[str, str] | None:
    """New headers for a call refused with 401 (one refresh), or ``None`` when there are none."""
    stale = stale_headers.get("Authorization", "").removeprefix("Bearer ")
    _, access = oauth_refresh(connection_id=connection_id, enter=enter, stale_access_token=stale)
    if not access:
        return None
    return credential_headers(auth_method=AuthMethod.OAUTH2, credentials={"access_token": access})


def connections_due_for_refresh(rows: Any) -> list[tuple[str, str]]:
    """``(customer id, connection id)`` of ``rows`` whose access token expires soon."""
    due = rows.filter(
        token_expires_at__lte=timezone.now() + REFRESH_BEFORE_EXPIRY,
        status__in=[ConnectionStatus.ACTIVE, ConnectionStatus.ERROR],
    ).exclude(credentials="")
    return [(str(c), str(i)) for c, i in due.values_list("customer_id", "id")[:1000]]
