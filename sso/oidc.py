"""OpenID Connect, the authorization-code flow with PKCE, as a relying party (SPEC §14).

The protocol only; who may sign in, and what a sign-in creates, is ``sso.services``.

- ``discover(issuer)`` reads ``<issuer>/.well-known/openid-configuration`` and insists that
  the document names the same issuer (OpenID Connect Discovery §4.3).
- ``authorization_url`` sends the person to the provider with ``state`` (ties the answer to
  this browser's session), ``nonce`` (ties the ID token to this sign-in) and a PKCE S256
  challenge (the code is useless to anyone who intercepts it).
- ``exchange_code`` posts the code, the client's credentials and the PKCE verifier to the token
  endpoint; ``verify_id_token`` checks the ID token's signature against the provider's JWKS
  (PyJWT; asymmetric algorithms only, never ``none`` or a shared-secret HMAC), its issuer,
  audience, expiry and nonce.

The discovery document and the key set are cached (``PROVIDER_CACHE_SECONDS``, in the shared
cache): a sign-in does not wait on two extra round trips to the provider. An ID token signed
with a key the cached set does not list reads the set again at once — a provider that rotated
its keys is followed without waiting for the cache — at most once per ``KEY_REFETCH_SECONDS``
per provider, so tokens with made-up key ids cannot turn the console into a JWKS hammer.

Every call to the provider goes through ``dataplane.outbound.request`` — the SSRF guard and
deadline of every outbound call — so it must run with no database transaction open. Whatever
goes wrong raises ``OidcRefused`` with a ``reason`` for the audit log and a ``message`` for the
person.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
from django.core.cache import cache

from dataplane import outbound

DISCOVERY_PATH = "/.well-known/openid-configuration"
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
SCOPES = "openid email profile"
# Seconds of clock difference tolerated between the provider and this server.
CLOCK_LEEWAY_SECONDS = 60
logger = logging.getLogger(__name__)

TRY_AGAIN = "Try again in a few minutes, or ask your administrator."
PROVIDER_CACHE_SECONDS = 3600
KEY_REFETCH_SECONDS = 60


class OidcRefused(Exception):
    """The sign-in cannot go on: ``reason`` (a short key, audited) and ``message`` (shown)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def normalized_issuer(value: str) -> str:
    """The issuer an administrator means, whether they pasted it or its discovery URL."""
    value = value.strip()
    if value.endswith(DISCOVERY_PATH):
        value = value[: -len(DISCOVERY_PATH)]
    return value.rstrip("/")


def _json_from(result: outbound.OutboundResult, what: str) -> dict[str, Any]:
    if result.outcome == outbound.HTTP_ERROR:
        raise OidcRefused(
            "idp_error", f"The identity provider answered {what} with an error. {TRY_AGAIN}"
        )
    if not result.ok:
        raise OidcRefused(
            "idp_unreachable",
            f"The identity provider could not be reached ({result.error}). {TRY_AGAIN}",
        )
    try:
        document = json.loads(result.body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise OidcRefused("idp_error", f"The identity provider's {what} is not JSON. {TRY_AGAIN}")
    return document


def _cache_key(kind: str, url: str) -> str:
    return f"sso:{kind}:{hashlib.sha256(url.encode()).hexdigest()}"


def _cached_json(url: str, what: str, *, fresh: bool = False) -> dict[str, Any]:
    """The JSON document at ``url``: from the cache, or read (``fresh``: always) and kept for
    ``PROVIDER_CACHE_SECONDS``. Only a good answer is kept; an unreachable cache reads it."""
    key = _cache_key("document", url)
    if not fresh:
        try:
            kept = cache.get(key)
        except Exception:  # noqa: BLE001 - the provider answers what the cache cannot
            kept = None
        if isinstance(kept, dict):
            return kept
    document = _json_from(outbound.request("GET", url), what)
    try:
        cache.set(key, document, PROVIDER_CACHE_SECONDS)
    except Exception:  # noqa: BLE001 - not kept: read again next time
        logger.warning("The identity provider's %s could not be cached", what)
    return document


def _may_refetch_keys(jwks_uri: str) -> bool:
    """Whether an unknown key id may read the key set again now (once a minute per set)."""
    try:
        return bool(cache.add(_cache_key("refetch", jwks_uri), 1, KEY_REFETCH_SECONDS))
    except Exception:  # noqa: BLE001 - without a cache, every unknown key id reads again
        return True


def discover(issuer: str) -> Provider:
    document = _cached_json(normalized_issuer(issuer) + DISCOVERY_PATH, "discovery document")
    fields = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    if not all(isinstance(document.get(name), str) for name in fields):
        raise OidcRefused(
            "idp_error", f"The identity provider's discovery document is incomplete. {TRY_AGAIN}"
        )
    if normalized_issuer(document["issuer"]) != normalized_issuer(issuer):
        raise OidcRefused(
            "wrong_issuer",
            "The identity provider names another issuer than the one configured. "
            "Ask your administrator to check the single sign-on settings.",
        )
    return Provider(**{name: document[name] for name in fields})


def new_secret() -> str:
    """A random value for ``state``, ``nonce`` or a PKCE verifier (43 characters)."""
    return secrets.token_urlsafe(32)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    provider: Provider,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    nonce: str,
    verifier: str,
    login_hint: str = "",
) -> str:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": SCOPES,
        "state": state,
        "nonce": nonce,
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
    }
    if login_hint:
        query["login_hint"] = login_hint
    separator = "&" if "?" in provider.authorization_endpoint else "?"
    return f"{provider.authorization_endpoint}{separator}{urlencode(query)}"


def exchange_code(
    provider: Provider,
    *,
    code: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    verifier: str,
) -> str:
    """The ID token the token endpoint gives for ``code`` (client_secret_post)."""
    tokens = _json_from(
        outbound.request(
            "POST",
            provider.token_endpoint,
            form_body={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "client_secret": client_secret,
                "code_verifier": verifier,
            },
        ),
        "the token request",
    )
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise OidcRefused("idp_error", f"The identity provider sent no ID token. {TRY_AGAIN}")
    return id_token


def _keys_for(jwks_uri: str, kid: object, *, fresh: bool) -> list[jwt.PyJWK]:
    keys = _cached_json(jwks_uri, "key set", fresh=fresh)
    try:
        key_set = jwt.PyJWKSet.from_dict(keys)
    except jwt.PyJWTError:
        raise OidcRefused("bad_signature", "The identity provider's key set is unusable.") from None
    return [key for key in key_set.keys if kid is None or key.key_id == kid]


def _signing_key(provider: Provider, header: dict[str, Any]) -> Any:
    kid = header.get("kid")
    candidates = _keys_for(provider.jwks_uri, kid, fresh=False)
    if len(candidates) != 1 and _may_refetch_keys(provider.jwks_uri):
        candidates = _keys_for(provider.jwks_uri, kid, fresh=True)
    if len(candidates) != 1:
        raise OidcRefused(
            "bad_signature",
            "The ID token is signed with a key the identity provider does not list.",
        )
    return candidates[0].key


_TOKEN_REFUSALS: tuple[tuple[type[Exception], str, str], ...] = (
    (jwt.ExpiredSignatureError, "expired_token", "The identity provider's answer has expired."),
    (jwt.InvalidAudienceError, "wrong_audience", "The ID token is meant for another application."),
    (jwt.InvalidIssuerError, "wrong_issuer", "The ID token comes from another issuer."),
    (jwt.InvalidSignatureError, "bad_signature", "The ID token's signature is not valid."),
    (jwt.PyJWTError, "invalid_token", "The ID token is not valid."),
)


def verify_id_token(
    provider: Provider, token: str, *, client_id: str, nonce: str
) -> dict[str, Any]:
    """The ID token's claims, once its signature, issuer, audience, expiry and nonce hold."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise OidcRefused("invalid_token", "The ID token is not valid.") from None
    algorithm = header.get("alg")
    if algorithm not in SIGNING_ALGORITHMS:
        raise OidcRefused("bad_signature", f"The ID token's algorithm {algorithm!r} is refused.")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _signing_key(provider, header),
            algorithms=[algorithm],
            audience=client_id,
            issuer=provider.issuer,
            leeway=CLOCK_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as error:
        reason, message = next((r, m) for kind, r, m in _TOKEN_REFUSALS if isinstance(error, kind))
        raise OidcRefused(reason, f"{message} Sign in again.") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        # OpenID Connect Core §3.1.3.7: with several audiences, azp names the one it is for.
        raise OidcRefused("wrong_audience", "The ID token is meant for another application.")
    if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise OidcRefused("wrong_nonce", "The ID token is not the answer to this sign-in.")
    return claims
