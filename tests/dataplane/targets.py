"""A local HTTP server the tests start: the target of outbound calls (no real network)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.http_servers import send_bytes, send_json, serving

BIG_BODY_BYTES = 2 * 1024 * 1024


@dataclass
class Target:
    base: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    # Called in the server's thread while a request is being answered (the caller still waits).
    on_request: Callable[[], Any] | None = None
    observed: list[Any] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


def _handler(target: Target) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _respond(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if target.on_request is not None:
                target.observed.append(target.on_request())
            target.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                }
            )
            path = self.path.split("?", 1)[0]
            if path == "/slow":
                time.sleep(3)
            if path == "/fail":
                return send_json(self, 500, {"error": "boom"})
            if path == "/big":
                return send_bytes(self, 200, b"x" * BIG_BODY_BYTES)
            if path == "/auth":
                if self.headers.get("Authorization") == "Bearer good-token":
                    return send_json(self, 200, {"ok": True})
                return send_json(self, 401, {"error": "unauthorized"})
            echo = json.loads(body) if body else None
            return send_json(self, 200, {"ok": True, "path": path, "echo": echo})

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _respond

    return Handler


@contextmanager
def running_target() -> Iterator[Target]:
    target = Target(base="")
    with serving(_handler(target)) as base:
        target.base = base
        yield target


# What a dripping server sends before it drips: nothing, part of the status line, or the headers.
DRIP_PREFIXES = {
    "status_line": b"HTTP/1.1 2",
    "headers": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Drip: ",
    "body": b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n",
}


@contextmanager
def dripping_server(stage: str, *, every: float = 0.25, for_seconds: float = 8.0) -> Iterator[str]:
    """A server that answers each request by sending ``DRIP_PREFIXES[stage]`` and then one byte
    every ``every`` seconds for ``for_seconds`` — never completing — so no single read waits
    long enough to time out. Yields its base URL (``http://127.0.0.1:<port>``)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def drip(client: socket.socket) -> None:
        with client:
            client.settimeout(2)
            try:
                client.recv(65536)
                client.sendall(DRIP_PREFIXES[stage])
                ends = time.monotonic() + for_seconds
                while time.monotonic() < ends and not stop.is_set():
                    client.sendall(b"a")
                    time.sleep(every)
            except OSError:
                pass  # the caller gave up (its deadline shut the socket)

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=drip, args=(client,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()
