"""Outbound HTTP calls to customers' services: workflow steps, connection tests, test panels.

Every call goes through ``request()``, which refuses what could turn the platform against its
own network (server-side request forgery):

* only ``https://`` URLs, except plain ``http://`` to ``127.0.0.1`` / ``localhost`` when
  ``settings.OUTBOUND_ALLOW_HTTP_LOCALHOST`` is on (tests' local servers);
* the host name is resolved once, every address is checked (no private, loopback, link-local,
  multicast or reserved address), and the connection is made to that checked address — so a
  second DNS answer cannot swap in an internal one;
* redirects are not followed; the response is read up to ``max_bytes`` and refused beyond;
  the socket timeout applies to the connection and to every read, and the whole call also has
  a deadline.

Built on the standard library (``http.client``) on purpose: the pinned connection is a few lines
there, and no client library's redirect or proxy handling can get in the way.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
USER_AGENT = "FastnConsole/1.0"

OK = "ok"
HTTP_ERROR = "http_error"
TIMEOUT = "timeout"
TOO_LARGE = "too_large"
CONNECTION_ERROR = "connection_error"
REFUSED = "refused"


class UnsafeURL(ValueError):
    """The URL may not be called (scheme, host or address refused)."""


@dataclass
class OutboundResult:
    outcome: str
    status_code: int | None = None
    body: bytes = b""
    duration_ms: int = 0
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome == OK

    def text(self, limit: int = 20_000) -> str:
        return self.body[:limit].decode("utf-8", errors="replace")

    def pretty(self, limit: int = 20_000) -> str:
        """The body, indented when it is JSON; cut at ``limit`` characters for display."""
        try:
            return json.dumps(json.loads(self.body), indent=2)[:limit]
        except ValueError:
            return self.text(limit)


def _localhost_allowed(scheme: str, host: str) -> bool:
    return (
        bool(settings.OUTBOUND_ALLOW_HTTP_LOCALHOST)
        and host in LOCAL_HOSTS
        and scheme
        in (
            "http",
            "https",
        )
    )


def check_url(url: str) -> tuple[str, str, int]:
    """Static checks of ``url`` (no DNS): returns ``(scheme, host, port)`` or raises UnsafeURL."""
    if len(url) > 2048:
        raise UnsafeURL("The URL is longer than 2,048 characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"Not a valid URL: {exc}.") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if not host:
        raise UnsafeURL("The URL needs a host name.")
    if parts.username or parts.password:
        raise UnsafeURL("Put credentials in a connection, not in the URL.")
    local = _localhost_allowed(scheme, host)
    if scheme != "https" and not local:
        raise UnsafeURL("Only https:// URLs can be called.")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None and not local and not literal.is_global:
        raise UnsafeURL("Private, loopback and link-local addresses cannot be called.")
    if host == "localhost" and not local:
        raise UnsafeURL("Private, loopback and link-local addresses cannot be called.")
    return scheme, host, port or (443 if scheme == "https" else 80)


def _resolve(scheme: str, host: str, port: int) -> str:
    """One checked address for ``host`` (every address it resolves to must be public)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeURL(f"Cannot resolve {host}: {exc.strerror}.") from None
    addresses = [str(info[4][0]) for info in infos]
    local = _localhost_allowed(scheme, host)
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if local and ip.is_loopback:
            continue
        if not ip.is_global or ip.is_multicast:
            raise UnsafeURL(f"{host} resolves to a private or reserved address.")
    if not addresses:
        raise UnsafeURL(f"Cannot resolve {host}.")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    json_body: Any = None,
    timeout: float | None = None,
    max_bytes: int | None = None,
) -> OutboundResult:
    """Call ``url`` once; never raises for network trouble — the outcome says what happened."""
    timeout = float(timeout or settings.OUTBOUND_TIMEOUT_SECONDS)
    max_bytes = int(max_bytes or settings.OUTBOUND_MAX_RESPONSE_BYTES)
    method = method.upper()
    started = time.monotonic()

    def result(outcome: str, **kwargs: Any) -> OutboundResult:
        elapsed = int((time.monotonic() - started) * 1000)
        return OutboundResult(outcome, duration_ms=elapsed, **kwargs)

    if method not in ALLOWED_METHODS:
        return result(REFUSED, error=f"Method {method} is not allowed.")
    try:
        scheme, host, port = check_url(url)
        address = _resolve(scheme, host, port)
    except UnsafeURL as exc:
        return result(REFUSED, error=str(exc))
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    body = None
    all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json, */*"}
    if json_body is not None:
        body = json.dumps(json_body).encode()
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, address, timeout)
    deadline = started + timeout
    try:
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                return result(
                    TIMEOUT,
                    status_code=response.status,
                    error=f"No complete response within {timeout:g} s.",
                )
            chunk = response.read1(65536)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                return result(
                    TOO_LARGE,
                    status_code=response.status,
                    error=f"The response is larger than {max_bytes:,} bytes.",
                )
            chunks.append(chunk)
        data = b"".join(chunks)
        response_headers = {k.lower(): v for k, v in response.getheaders()}
        if 200 <= response.status < 300:
            return result(OK, status_code=response.status, body=data, headers=response_headers)
        return result(
            HTTP_ERROR,
            status_code=response.status,
            body=data,
            headers=response_headers,
            error=f"HTTP {response.status}",
        )
    except TimeoutError:
        return result(TIMEOUT, error=f"No response within {timeout:g} s.")
    except (OSError, http.client.HTTPException) as exc:
        return result(CONNECTION_ERROR, error=f"Connection failed: {exc.__class__.__name__}.")
    finally:
        connection.close()
