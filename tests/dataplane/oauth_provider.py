"""A fake OAuth 2.0 provider the tests start on a local port (no real network).

``/authorize`` redirects back to ``redirect_uri`` with a code (or ``error=access_denied`` when
told to deny); ``/token`` exchanges a code only for the PKCE verifier whose S256 challenge came
with it, and the right client id, secret and redirect URI, and refreshes tokens
(``grant_type=refresh_token``, rotating the refresh token); it can be told to fail (``fail_with``
a status), to hang (``hang_seconds``) or to say ``invalid_grant`` (``revoke_all``).
``/resource`` answers 401 to an unknown or expired access token.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.dataplane.helpers import make_connector
from tests.http_servers import send_bytes, send_json, serving

CLIENT_ID = "fastn-test-client"
CLIENT_SECRET = "provider-client-secret-0001"


@dataclass
class Provider:
    base: str = ""
    expires_in: int = 3600
    deny: bool = False
    fail_with: int = 0
    hang_seconds: float = 0.0
    revoked: bool = False
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (epoch)
    refresh_tokens: set[str] = field(default_factory=set)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    resource_requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self.access_tokens:
                self.access_tokens[token] = 0.0

    def revoke_all(self) -> None:
        with self.lock:
            self.revoked = True
            self.refresh_tokens.clear()

    def _issue(self) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.access_tokens[access] = time.time() + self.expires_in
        self.refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": refresh,
        }

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        if self.hang_seconds:
            time.sleep(self.hang_seconds)
        if self.fail_with:
            return self.fail_with, {"error": "server_error"}
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {"error": "invalid_client"}
        with self.lock:
            if form.get("grant_type") == "authorization_code":
                issued = self.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if (
                    issued is None
                    or issued["code_challenge"] != challenge
                    or issued["redirect_uri"] != form.get("redirect_uri")
                ):
                    return 400, {"error": "invalid_grant", "error_description": "PKCE failed"}
                return 200, self._issue()
            if form.get("grant_type") == "refresh_token":
                refresh = form.get("refresh_token", "")
                if self.revoked or refresh not in self.refresh_tokens:
                    return 400, {"error": "invalid_grant", "error_description": "revoked"}
                self.refresh_tokens.discard(refresh)
                return 200, self._issue()
        return 400, {"error": "unsupported_grant_type"}

    def authorize(self, query: dict[str, str]) -> str:
        """Where the browser goes next: back to ``redirect_uri`` with a code or an error."""
        self.authorize_requests.append(query)
        back: dict[str, str] = {"state": query.get("state", "")}
        if self.deny:
            back["error"] = "access_denied"
            back["error_description"] = "The user said no"
        else:
            code = secrets.token_urlsafe(12)
            with self.lock:
                self.codes[code] = query
            back["code"] = code
        return f"{query['redirect_uri']}?{urlencode(back)}"

    def resource(self, authorization: str) -> int:
        token = authorization.removeprefix("Bearer ")
        self.resource_requests.append(token)
        with self.lock:
            expiry = self.access_tokens.get(token)
        return 200 if expiry is not None and expiry > time.time() else 401


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/authorize":
                self.send_response(302)
                self.send_header("Location", provider.authorize(query))
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parts.path == "/resource":
                status = provider.resource(self.headers.get("Authorization", ""))
                send_json(self, status, {"ok": status == 200})
            else:
                send_bytes(self, 404, b"{}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            form = {k: v[0] for k, v in parse_qs(body).items()}
            if urlsplit(self.path).path == "/token":
                status, payload = provider.token(form)
                send_json(self, status, payload)
            else:
                send_bytes(self, 404, b"{}")

    return Handler


@contextmanager
def running_provider(**options: Any) -> Iterator[Provider]:
    provider = Provider(**options)
    with serving(_handler(provider)) as base:
        provider.base = base
        yield provider


def oauth_connector(org: Any, provider: Provider, settings: Any, **data: Any) -> Any:
    """An OAuth 2.0 connector of ``org`` for ``provider`` (deployed to prod), whose base URL is
    the provider's resource; plain http to 127.0.0.1 is allowed for the test."""
    settings.DEBUG = True
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    values = {
        "name": "Fake CRM",
        "credential_fields": [],
        "base_url": provider.url("/resource"),
        "authorize_url": provider.url("/authorize"),
        "token_url": provider.url("/token"),
        "scopes": "read write",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **data,
    }
    return make_connector(org, **values)


def provider_redirect(location: str) -> str:
    """Where the provider's authorize page sends the browser (it is not followed further)."""
    parts = urlsplit(location)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    connection.request("GET", f"{parts.path}?{parts.query}")
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 302, response.status
    return str(response.getheader("Location"))
