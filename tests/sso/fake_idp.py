"""A local OpenID Connect provider the SSO tests start: discovery, JWKS (a fresh RSA key), an
authorize endpoint that sends the browser back with a code, and a token endpoint that checks
the client, the redirect URI and the PKCE verifier before it signs an ID token.

Knobs on ``FakeIdP`` make it misbehave the ways the tests need: vouch for another address,
change claims (a wrong audience or nonce, an expired token), sign with a key it does not
publish, rotate its key (``rotate_key``), refuse the person (``error=access_denied``), or
answer every call with a 500. ``served`` lists the paths it was asked for, in order.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.http_servers import local_server, send_bytes, send_json, serve_in_background, stop_server

CLIENT_ID = "fastn-console-test"
CLIENT_SECRET = "fake-idp-client-secret"
KEY_ID = "fake-idp-key-1"


def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


@dataclass
class FakeIdP:
    base_url: str = ""
    key: rsa.RSAPrivateKey = field(default_factory=_private_key)
    # What the ID token says: the login hint's address unless ``email`` is set; ``claims``
    # overrides or adds claims (None removes one).
    email: str = ""
    claims: dict[str, Any] = field(default_factory=dict)
    refuse: str = ""  # an OAuth error code to send back instead of a code
    broken: bool = False  # every endpoint answers 500
    foreign_key: bool = False  # sign with a key the JWKS does not list
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    key_id: str = KEY_ID
    token_key_id: str = ""  # a key id for the ID token's header that the key set does not list
    served: list[str] = field(default_factory=list)

    def rotate_key(self) -> None:
        """A new signing key under a new key id; the key set lists only the new one."""
        self.key = _private_key()
        self.key_id = f"{KEY_ID}-{secrets.token_hex(4)}"

    @property
    def issuer(self) -> str:
        return self.base_url

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.base_url}/authorize",
            "token_endpoint": f"{self.base_url}/token",
            "jwks_uri": f"{self.base_url}/jwks",
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def authorize(self, query: dict[str, str]) -> str:
        """Where the browser goes next: back to the relying party with a code (or an error)."""
        back = query["redirect_uri"]
        if self.refuse:
            answer = {"error": self.refuse, "error_description": "The user is not assigned"}
            return f"{back}?{urlencode({**answer, 'state': query.get('state', '')})}"
        code = secrets.token_urlsafe(16)
        self.codes[code] = query
        return f"{back}?{urlencode({'code': code, 'state': query.get('state', '')})}"

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        asked = self.codes.pop(form.get("code", ""), None)
        if asked is None:
            return 400, {"error": "invalid_grant", "error_description": "unknown code"}
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client"}
        if form.get("redirect_uri") != asked["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != asked["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier"}
        return 200, {"access_token": "at", "token_type": "Bearer", "id_token": self.id_token(asked)}

    def id_token(self, asked: dict[str, str]) -> str:
        now = int(time.time())
        email = self.email or asked.get("login_hint", "")
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": hashlib.sha256(email.encode()).hexdigest()[:24],
            "aud": asked["client_id"],
            "iat": now,
            "exp": now + 300,
            "nonce": asked.get("nonce", ""),
            "email": email,
            "email_verified": True,
            "name": "Sam Single",
        }
        claims.update(self.claims)
        claims = {name: value for name, value in claims.items() if value is not None}
        key = _private_key() if self.foreign_key else self.key
        return jwt.encode(
            claims, key, algorithm="RS256", headers={"kid": self.token_key_id or self.key_id}
        )


def handler_for(idp: FakeIdP) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _broken(self) -> bool:
            if idp.broken:
                send_json(self, 500, {"error": "server_error"})
            return idp.broken

        def do_GET(self) -> None:
            if self._broken():
                return
            parts = urlsplit(self.path)
            idp.served.append(parts.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/.well-known/openid-configuration":
                send_json(self, 200, idp.discovery())
            elif parts.path == "/jwks":
                send_json(self, 200, {"keys": [_public_jwk(idp.key, idp.key_id)]})
            elif parts.path == "/authorize":
                self.send_response(302)
                self.send_header("Location", idp.authorize(query))
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                send_bytes(self, 404, b"not found", "text/plain")

        def do_POST(self) -> None:
            if self._broken():
                return
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode()
            if urlsplit(self.path).path != "/token" or "form-urlencoded" not in str(
                self.headers.get("Content-Type")
            ):
                send_json(self, 400, {"error": "invalid_request"})
                return
            status, payload = idp.token({k: v[0] for k, v in parse_qs(body).items()})
            send_json(self, status, payload)

    return Handler


class RunningIdP:
    """A ``FakeIdP`` served on a free loopback port until ``stop()``."""

    def __init__(self) -> None:
        self.idp = FakeIdP()
        self.server = local_server(handler_for(self.idp))
        self.idp.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        serve_in_background(self.server)

    def stop(self) -> None:
        stop_server(self.server)
