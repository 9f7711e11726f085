"""Outbound HTTP calls to customers' services: workflow steps, connection tests, test panels.

Every call goes through ``request()``, which refuses what could turn the platform against its
own network (server-side request forgery):

* only ``https://`` URLs, except plain ``http://`` to ``127.0.0.1`` / ``localhost`` when
  ``settings.OUTBOUND_ALLOW_HTTP_LOCALHOST`` is on (tests' local servers);
* the host name is resolved once, every address is checked by ``address_is_public`` (no
  private, loopback, link-local, multicast or reserved address — nor an IPv6 address that
  carries one: IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo), and the connection is made to
  that checked address — so a second DNS answer cannot swap in an internal one; a literal
  address in the URL is checked by the same function;
* redirects are not followed; the response is read up to ``max_bytes`` and refused beyond.

Every call has a wall-clock deadline (``timeout``, default ``OUTBOUND_TIMEOUT_SECONDS``) for the
whole call — resolving, connecting, TLS, sending, the status line, the headers and the body: a
watchdog shuts the socket down when it passes, so a server that drips one byte a second cannot
hold a call (or the worker running it) past it. No call runs with a database transaction open:
``request()`` raises ``OutboundInTransaction`` if one is (a programming error; console views
that call out use ``fastn_console.console.outside_request_transaction``).

``execution_status`` is the one rule turning a call's result into the status of the run it
belongs to (workflow steps, connection tests, build test panels). ``host_key`` is how hosts are
compared (a connector's declared hosts against the URL its credentials would go to).

Built on the standard library (``http.client``) on purpose: the pinned connection is a few lines
there, and no client library's redirect or proxy handling can get in the way.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import connections

from dataplane.models import ExecutionStatus

ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
USER_AGENT = "FastnConsole/1.0"

OK = "ok"
HTTP_ERROR = "http_error"
TIMEOUT = "timeout"
TOO_LARGE = "too_large"
CONNECTION_ERROR = "connection_error"
REFUSED = "refused"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 ranges that are never called, whatever the Python version's idea of "global": site-local,
# Teredo tunnels (to any IPv4 host) and local-use NAT64.
REFUSED_IPV6_NETWORKS = tuple(
    ipaddress.IPv6Network(net) for net in ("fec0::/10", "2001::/32", "64:ff9b:1::/48")
)
# IPv6 ranges whose last 32 bits are an IPv4 address the packets reach: IPv4-compatible,
# IPv4-mapped, IPv4-translated and well-known-prefix NAT64.
IPV4_IN_LOW_BITS = tuple(
    ipaddress.IPv6Network(net)
    for net in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)


class UnsafeURL(ValueError):
    """The URL may not be called (scheme, host or address refused)."""


class OutboundInTransaction(RuntimeError):
    """An outbound call was attempted with a database transaction open: it would hold the
    transaction (and a pooled connection) for as long as the remote server takes."""


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


def execution_status(result: OutboundResult) -> str:
    """The status a run gets from an outbound call's result: completed, timed out or failed.
    Workflow steps, connection tests and test panels all log their calls by this rule."""
    if result.ok:
        return ExecutionStatus.COMPLETED
    if result.outcome == TIMEOUT:
        return ExecutionStatus.TIMEOUT
    return ExecutionStatus.FAILED


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (and would reach through a translator)."""
    found = []
    if any(ip in net for net in IPV4_IN_LOW_BITS):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def address_is_public(ip: IPAddress, *, loopback_allowed: bool = False) -> bool:
    """Whether ``ip`` may be called: a global unicast address, and for IPv6 none of the ranges
    above and no embedded IPv4 address that is not public itself. The one rule for literal
    hosts and for the addresses a host name resolves to; ``loopback_allowed`` admits loopback
    (the tests' local servers, see ``OUTBOUND_ALLOW_HTTP_LOCALHOST``)."""
    if loopback_allowed and ip.is_loopback:
        return True
    if ip.is_multicast or not ip.is_global:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in REFUSED_IPV6_NETWORKS):
            return False
        return all(address_is_public(inner) for inner in _embedded_ipv4(ip))
    return True


def _localhost_allowed(scheme: str, host: str) -> bool:
    return (
        bool(settings.OUTBOUND_ALLOW_HTTP_LOCALHOST)
        and host in LOCAL_HOSTS
        and scheme in ("http", "https")
    )


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


PRIVATE_ADDRESS = "Private, loopback and link-local addresses cannot be called."


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
    literal = _literal_address(host)
    if literal is not None and not address_is_public(literal, loopback_allowed=local):
        raise UnsafeURL(PRIVATE_ADDRESS)
    if host == "localhost" and not local:
        raise UnsafeURL(PRIVATE_ADDRESS)
    return scheme, host, port or (443 if scheme == "https" else 80)


def host_key(url: str) -> str:
    """``host:port`` of ``url`` — lower case, IDNA, no trailing dot, the scheme's default port
    when none is given — so two spellings of one host compare equal. Raises UnsafeURL."""
    _, host, port = check_url(url)
    host = host.rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class DeadlinePassed(Exception):
    """The call's wall-clock deadline passed."""


class Deadline:
    """A call's wall-clock deadline. A watchdog timer shuts the watched socket down when it
    passes, which wakes any blocking connect, handshake, send or read at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._stopped = False
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        """Seconds left; raises DeadlinePassed when none are."""
        left = self._at - time.monotonic()
        if left <= 0 or self.expired:
            raise DeadlinePassed
        return left

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down at the deadline (at once if it has passed)."""
        with self._lock:
            self._sock = sock
            if self.expired:
                self._shutdown()

    def stop(self) -> bool:
        """Disarm the watchdog; whether the deadline had passed."""
        self._timer.cancel()
        with self._lock:
            self._stopped = True
            self._sock = None
            return self.expired

    def _expire(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self.expired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is None:
            return
        try:
            # The plain socket's shutdown, also for a TLS socket: it acts on the descriptor and
            # leaves the TLS object (in use by the calling thread) alone.
            socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
        except OSError:
            pass


def _getaddrinfo(host: str, port: int, deadline: Deadline) -> list[Any]:
    """``socket.getaddrinfo`` within the deadline (a resolver can take longer than any
    timeout; its thread is left to finish on its own)."""
    answer: dict[str, Any] = {}

    def lookup() -> None:
        try:
            answer["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            answer["error"] = exc

    worker = threading.Thread(target=lookup, name="outbound-dns", daemon=True)
    worker.start()
    worker.join(deadline.remaining())
    if worker.is_alive():
        raise DeadlinePassed
    error = answer.get("error")
    if error is not None:
        reason = getattr(error, "strerror", None) or error.__class__.__name__
        raise UnsafeURL(f"Cannot resolve {host}: {reason}.")
    return list(answer["infos"])


def resolve(scheme: str, host: str, port: int, deadline: Deadline) -> str:
    """One checked address for ``host``: every address it resolves to must pass
    ``address_is_public``. Raises UnsafeURL, or DeadlinePassed."""
    addresses = [str(info[4][0]) for info in _getaddrinfo(host, port, deadline)]
    local = _localhost_allowed(scheme, host)
    for address in addresses:
        ip = _literal_address(address)
        if ip is None or not address_is_public(ip, loopback_allowed=local):
            raise UnsafeURL(f"{host} resolves to a private or reserved address.")
    if not addresses:
        raise UnsafeURL(f"Cannot resolve {host}.")
    return addresses[0]


def _connect(address: str, port: int, deadline: Deadline) -> socket.socket:
    sock = socket.create_connection((address, port), deadline.remaining())
    deadline.watch(sock)
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, deadline: Deadline) -> None:
        super().__init__(host, port, timeout=deadline.seconds)
        self._address = address
        self._deadline = deadline

    def connect(self) -> None:
        self.sock = _connect(self._address, self.port, self._deadline)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, deadline: Deadline) -> None:
        super().__init__(host, port, timeout=deadline.seconds, context=ssl.create_default_context())
        self._address = address
        self._deadline = deadline

    def connect(self) -> None:
        sock = _connect(self._address, self.port, self._deadline)
        context: ssl.SSLContext = self._context  # type: ignore[attr-defined]
        tls = context.wrap_socket(sock, server_hostname=self.host, do_handshake_on_connect=False)
        self._deadline.watch(tls)  # wrapping took over the descriptor; watch the new socket
        tls.do_handshake()
        self.sock = tls


def open_transactions() -> list[str]:
    """Aliases with a database transaction open (a test case's own wrapping transaction aside,
    as Django's durable-atomic check does)."""
    return [
        connection.alias
        for connection in connections.all(initialized_only=True)
        if any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)
    ]


def _exchange(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    max_bytes: int,
) -> OutboundResult:
    """Send the request and read the response (no duration yet)."""
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read1(65536):
        size += len(chunk)
        if size > max_bytes:
            return OutboundResult(
                TOO_LARGE,
                status_code=response.status,
                error=f"The response is larger than {max_bytes:,} bytes.",
            )
        chunks.append(chunk)
    data = b"".join(chunks)
    response_headers = {k.lower(): v for k, v in response.getheaders()}
    if 200 <= response.status < 300:
        return OutboundResult(OK, status_code=response.status, body=data, headers=response_headers)
    return OutboundResult(
        HTTP_ERROR,
        status_code=response.status,
        body=data,
        headers=response_headers,
        error=f"HTTP {response.status}",
    )


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    json_body: Any = None,
    form_body: dict[str, str] | None = None,
    timeout: float | None = None,
    max_bytes: int | None = None,
) -> OutboundResult:
    """Call ``url`` once, all of it within ``timeout`` seconds of wall-clock time. Never raises
    for network trouble — the outcome says what happened; raises ``OutboundInTransaction`` when
    called with a database transaction open."""
    held = open_transactions()
    if held:
        raise OutboundInTransaction(
            f"An outbound call with a transaction open on {', '.join(held)}: make it outside "
            "the transaction (see fastn_console.console.outside_request_transaction)."
        )
    timeout = float(timeout or settings.OUTBOUND_TIMEOUT_SECONDS)
    max_bytes = int(max_bytes or settings.OUTBOUND_MAX_RESPONSE_BYTES)
    method = method.upper()
    started = time.monotonic()

    def timed(result: OutboundResult) -> OutboundResult:
        result.duration_ms = int((time.monotonic() - started) * 1000)
        return result

    if method not in ALLOWED_METHODS:
        return timed(OutboundResult(REFUSED, error=f"Method {method} is not allowed."))
    timed_out = OutboundResult(TIMEOUT, error=f"No complete response within {timeout:g} s.")
    deadline = Deadline(timeout)
    try:
        try:
            scheme, host, port = check_url(url)
            address = resolve(scheme, host, port, deadline)
        except UnsafeURL as exc:
            return timed(OutboundResult(REFUSED, error=str(exc)))
        except DeadlinePassed:
            return timed(timed_out)
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = None
        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json, */*"}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        elif form_body is not None:  # OAuth token endpoints (sso.oidc) take a form
            body = urlencode(form_body).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        all_headers.update(headers or {})
        connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
        connection = connection_class(host, port, address, deadline)
        try:
            result = _exchange(connection, method, path, body, all_headers, max_bytes)
        except (DeadlinePassed, TimeoutError):
            result = timed_out
        except (OSError, http.client.HTTPException, ValueError) as exc:
            result = OutboundResult(
                CONNECTION_ERROR, error=f"Connection failed: {exc.__class__.__name__}."
            )
        finally:
            deadline.stop()  # before closing: the watchdog never touches a closed socket
            connection.close()
    finally:
        expired = deadline.stop()
    # A socket shut down at the deadline can look like a short response or a reset: the
    # deadline decides.
    return timed(timed_out if expired else result)
