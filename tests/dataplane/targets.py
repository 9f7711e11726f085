"""A local HTTP server the tests start: the target of outbound calls (no real network)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BIG_BODY_BYTES = 2 * 1024 * 1024


@dataclass
class Target:
    base: str
    requests: list[dict[str, Any]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


def _handler(target: Target) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _respond(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
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
                return self._send(500, {"error": "boom"})
            if path == "/big":
                return self._send_raw(200, b"x" * BIG_BODY_BYTES)
            if path == "/auth":
                if self.headers.get("Authorization") == "Bearer good-token":
                    return self._send(200, {"ok": True})
                return self._send(401, {"error": "unauthorized"})
            echo = json.loads(body) if body else None
            return self._send(200, {"ok": True, "path": path, "echo": echo})

        def _send(self, status: int, payload: Any) -> None:
            self._send_raw(status, json.dumps(payload).encode())

        def _send_raw(self, status: int, data: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _respond

    return Handler


@contextmanager
def running_target() -> Iterator[Target]:
    target = Target(base="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(target))
    server.daemon_threads = True
    target.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield target
    finally:
        server.shutdown()
        server.server_close()
