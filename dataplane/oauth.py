"""OAuth 2.0 connections: the authorization-code flow with PKCE, token exchange and refresh
(SPEC §11; docs/WORKFLOWS.md, "OAuth 2.0 connections").

**Connect.** ``oauth_connect_start`` keeps what the callback needs — organization, customer,
connector, the connection being reconnected, the acting principal, the PKCE verifier — in
Redis (encrypted, ``STATE_MAX_AGE`` seconds, taken once) under a random nonce, and returns the
provider's authorize URL with ``response_type=code``, ``client_id``, ``redirect_uri``,
``scope``, ``state`` and the S256 ``code_challenge``. ``state`` is the nonce signed with the
surface, organization and customer it belongs to, so the one redirect URI registered with a
provider (``/oauth/callback/``, ``oauth_state_target``) can send the browser on to the
console's or the widget's callback page of that customer. There ``oauth_callback_complete``
checks the signature and age, that the URL's organization and customer and the principal are
the ones that started (404 otherwise: an outsider learns nothing), takes the state (a second
use finds nothing), exchanges the code with the verifier at the token URL outside any
transaction, and only then stores the tokens encrypted in one transaction. A wrong, expired or
reused state, an ``error`` from the provider, or a token endpoint that times out or fails
stores nothing and says why.

**Refresh** (``dataplane.oauth_refresh``; Celery task ``dataplane.oauth_refresh``, queued by
the beat sweep for tokens expiring within ``REFRESH_BEFORE_EXPIRY``, and called by a workflow
run whose step got a 401) has the shape of a retried pipeline step: it locks the
row and returns if the work is already done (the token is fresh, or another refresh replaced
the one that failed), holds a short lease so two refreshes never spend one refresh token,
calls the token URL with no transaction open and records the result: ``active`` with the new
tokens, ``revoked`` when the provider answers ``invalid_grant``, ``error`` otherwise (the
stored tokens are kept and the next sweep tries again), ``expired`` when there is nothing to
refresh with.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from audit import actions
from billing.services import count_limit_guard
from build.models import Connector
from build.services import connector_client_secret
from customers.models import Customer, Organization
from dataplane import outbound
from dataplane.encryption import CredentialsUnreadable, decrypt_credentials, encrypt_credentials
from dataplane.models import Connection, ConnectionStatus
from dataplane.services import Enter, connection_connect
from dataplane.services.primitives import audit_data_plane, require_writable_customer_scope

STATE_SALT = "dataplane.oauth.state"
STATE_MAX_AGE = 600
TOKEN_TIMEOUT_SECONDS = 10.0
REFRESH_BEFORE_EXPIRY = timedelta(minutes=5)
REFRESH_LEASE = timedelta(seconds=TOKEN_TIMEOUT_SECONDS + 20)
CONSOLE, WIDGET = "console", "widget"
CALLBACK_PATH = "/oauth/callback/"


class OAuthRefused(Exception):
    """The callback cannot connect; ``message`` says why in words. Nothing was stored."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _cache_key(nonce: str) -> str:
    return f"oauth-state:{nonce}"


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(part for part in (parts.query, urlencode(params)) if part)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def oauth_connect_start(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    connector: Connector,
    principal: str,
    surface: str,
    redirect_uri: str,
    name: str = "",
    connection: Connection | None = None,
) -> str:
    """The provider's authorize URL for connecting ``customer`` to ``connector`` (or
    reconnecting ``connection``); the callback's half is kept in Redis under the state."""
    require_writable_customer_scope(organization=organization, customer=customer)
    if not connector.uses_authorization_code:
        raise ValidationError(f"{connector.name} does not use the OAuth authorization-code flow.")
    if connection is None:
        count_limit_guard(
            organization=organization, key="connections_per_customer", customer=customer
        )
    verifier = secrets.token_urlsafe(64)
    nonce = secrets.token_urlsafe(24)
    pending = {
        "org": str(organization.id),
        "customer": str(customer.id),
        "connector": str(connector.id),
        "connection": str(connection.id) if connection else "",
        "principal": principal,
        "verifier": verifier,
        "redirect_uri": redirect_uri,
        "name": (name or connector.name).strip()[:120],
    }
    cache.set(
        _cache_key(nonce),
        encrypt_credentials({"pending": json.dumps(pending)}),
        timeout=STATE_MAX_AGE,
    )
    state = signing.dumps(
        {"n": nonce, "s": surface, "o": organization.slug, "c": str(customer.id)}, salt=STATE_SALT
    )
    params = {
        "response_type": "code",
        "client_id": connector.client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
    }
    if connector.scopes:
        params["scope"] = connector.scopes
    return _with_query(connector.authorize_url, params)


def _state_payload(state: str) -> dict[str, str]:
    try:
        payload = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired:
        raise OAuthRefused(
            "This connection attempt expired (it has to be finished within 10 minutes). "
            "Nothing was stored: start again with Connect."
        ) from None
    except signing.BadSignature:
        raise OAuthRefused(
            "The provider sent back a state this console did not issue. Nothing was stored: "
            "start again with Connect."
        ) from None
    if not isinstance(payload, dict) or not {"n", "s", "o", "c"} <= set(payload):
        raise OAuthRefused("The state sent back is incomplete. Nothing was stored.")
    return {key: str(value) for key, value in payload.items()}


def oauth_state_target(state: str) -> tuple[str, str, str]:
    """``(surface, organization slug, customer id)`` of a state this console signed: where
    ``/oauth/callback/`` sends the browser on to. Raises OAuthRefused."""
    payload = _state_payload(state)
    return payload["s"], payload["o"], payload["c"]


@dataclass
class Pending:
    """A connect attempt taken from its state: what the token exchange and the store need."""

    connector: Connector
    connection: Connection | None
    verifier: str
    redirect_uri: str
    name: str
    client_secret: str


def _pending_take(
    *,
    state: str,
    organization: Organization,
    customer: Customer,
    principal: str,
    authorize: Callable[[str], None],
) -> Pending:
    payload = _state_payload(state)
    if payload["o"] != organization.slug or payload["c"] != str(customer.id):
        raise Http404
    stored = cache.get(_cache_key(payload["n"]))
    if stored is None:
        raise OAuthRefused(
            "This connection attempt was already finished or has expired. Nothing was stored: "
            "start again with Connect."
        )
    try:
        pending = json.loads(decrypt_credentials(stored)["pending"])
    except (CredentialsUnreadable, KeyError, ValueError):
        raise OAuthRefused("This connection attempt cannot be read. Start again.") from None
    if (
        pending["principal"] != principal
        or pending["org"] != str(organization.id)
        or pending["customer"] != str(customer.id)
    ):
        raise Http404
    authorize("connections.update" if pending["connection"] else "connections.create")
    if not cache.delete(_cache_key(payload["n"])):
        raise OAuthRefused("This connection attempt was already finished. Nothing was stored.")
    connector = Connector.objects.filter(id=pending["connector"]).first()
    connection = None
    if pending["connection"]:
        connection = Connection.objects.filter(id=pending["connection"]).first()
        if connection is None:
            raise OAuthRefused("The connection to reconnect was deleted meanwhile.")
    if connector is None or not connector.uses_authorization_code:
        raise OAuthRefused("The connector no longer uses the OAuth flow. Nothing was stored.")
    try:
        secret = connector_client_secret(connector)
    except CredentialsUnreadable:
        raise OAuthRefused(
            f"{connector.name}'s client secret cannot be decrypted with the configured keys."
        ) from None
    return Pending(
        connector,
        connection,
        pending["verifier"],
        pending["redirect_uri"],
        pending["name"],
        secret,
    )


@dataclass
class Tokens:
    """What a token endpoint answered: tokens, or ``error`` (its code) and ``message``."""

    access_token: str = ""
    refresh_token: str = ""
    expires_at: Any = None
    error: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.access_token) and not self.error


def token_request(
    *, connector: Connector, client_secret: str, grant: dict[str, str], label: str
) -> Tokens:
    """POST ``grant`` to the connector's token URL (form-encoded, client_secret_post; no
    transaction open, ``TOKEN_TIMEOUT_SECONDS`` at most) and read its answer."""
    form = {**grant, "client_id": connector.client_id}
    if client_secret:
        form["client_secret"] = client_secret
    result = outbound.request(
        "POST", connector.token_url, form_body=form, timeout=TOKEN_TIMEOUT_SECONDS
    )
    where = f"{connector.name}'s token endpoint"
    if result.outcome == outbound.TIMEOUT:
        return Tokens(error="timeout", message=f"{where} did not answer {label} in time.")
    try:
        answer = json.loads(result.body) if result.body else {}
    except ValueError:
        answer = {}
    answer = answer if isinstance(answer, dict) else {}
    if not result.ok:
        code = str(answer.get("error") or result.outcome)[:80]
        detail = str(answer.get("error_description") or result.error)[:200]
        return Tokens(error=code, message=f"{where} refused {label}: {code} ({detail}).")
    access = str(answer.get("access_token") or "")
    if not access or str(answer.get("token_type", "bearer")).lower() != "bearer":
        return Tokens(error="invalid_response", message=f"{where} sent no bearer access token.")
    expires_at = None
    try:
        expires_at = timezone.now() + timedelta(seconds=int(answer["expires_in"]))
    except (KeyError, TypeError, ValueError):
        pass
    return Tokens(access, str(answer.get("refresh_token") or ""), expires_at)


def token_credentials(tokens: Tokens, kept_refresh_token: str = "") -> dict[str, str]:
    values = {"access_token": tokens.access_token}
    if tokens.refresh_token or kept_refresh_token:
        values["refresh_token"] = tokens.refresh_token or kept_refresh_token
    return values


def _store(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    pending: Pending,
    tokens: Tokens,
) -> Connection:
    """Save the tokens: a new connection (checked like any other), or the reconnected one."""
    values = token_credentials(tokens)
    if pending.connection is None:
        connection = connection_connect(
            acting_user=acting_user,
            organization=organization,
            customer=customer,
            connector=pending.connector,
            name=pending.name,
            credentials=values,
            credential_fields=sorted(values),
        )
    else:
        require_writable_customer_scope(organization=organization, customer=customer)
        connection = Connection.objects.select_for_update().get(id=pending.connection.id)
        connection.credentials = encrypt_credentials(values)
        audit_data_plane(
            acting_user,
            actions.CONNECTION_UPDATE,
            connection,
            customer,
            after={"oauth": "reconnected", "credential_fields_changed": sorted(values)},
        )
    connection.status, connection.status_message = ConnectionStatus.ACTIVE, ""
    connection.token_expires_at, connection.refresh_lease_until = tokens.expires_at, None
    connection.save(
        update_fields=[
            "credentials",
            "status",
            "status_message",
            "token_expires_at",
            "refresh_lease_until",
        ]
    )
    return connection


def oauth_callback_complete(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    principal: str,
    query: dict[str, str],
    authorize: Callable[[str], None],
    enter: Enter,
) -> Connection:
    """Finish a connect attempt from the provider's redirect (``query``: ``state`` and
    ``code``, or ``error``). The caller holds no transaction: ``enter()`` opens its scope for
    taking the state and for the store; the code is exchanged between them. Raises
    OAuthRefused (nothing stored), Http404 for another principal's or customer's state."""
    with enter():
        pending = _pending_take(
            state=query.get("state", ""),
            organization=organization,
            customer=customer,
            principal=principal,
            authorize=authorize,
        )
    name = pending.connector.name
    if query.get("error"):
        code = query["error"][:80]
        detail = query.get("error_description", "")[:200]
        raise OAuthRefused(
            f"{name} did not authorize the connection: {code}"
            + (f" ({detail})" if detail else "")
            + ". Nothing was stored."
        )
    if not query.get("code"):
        raise OAuthRefused(f"{name} sent back no authorization code. Nothing was stored.")
    tokens = token_request(
        connector=pending.connector,
        client_secret=pending.client_secret,
        grant={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.verifier,
        },
        label="the authorization code",
    )
    if not tokens.ok:
        raise OAuthRefused(f"{tokens.message} Nothing was stored: try Connect again.")
    try:
        with enter():
            return _store(
                acting_user=acting_user,
                organization=organization,
                customer=customer,
                pending=pending,
                tokens=tokens,
            )
    except ValidationError as exc:  # a limit reached or a state that refuses writes meanwhile
        raise OAuthRefused(" ".join(exc.messages) + " Nothing was stored.") from None
