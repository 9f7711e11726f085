"""A local receiver for webhook deliveries, and helpers to make and read endpoints.

The receiver answers by path: ``/ok`` 200, ``/fail`` 500, ``/slow`` after 3 s, ``/redirect`` 302
to another host; it records every request (path, headers, body) it gets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.http_servers import local_server, send_bytes, send_json, serve_in_background, stop_server

SLOW_SECONDS = 3.0


@dataclass
class Receiver:
    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if path is None or r["path"] == path]

    def wait_for(self, count: int, path: str | None = None, seconds: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = self.received(path)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(f"{len(self.received(path))} request(s) to {path}, wanted {count}")


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                )
            if self.path == "/ok":
                send_json(self, 200, {"received": True})
            elif self.path == "/fail":
                send_bytes(self, 500, b"Internal error: database on fire", "text/plain")
            elif self.path == "/slow":
                time.sleep(SLOW_SECONDS)
                send_json(self, 200, {"late": True})
            elif self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "https://elsewhere.example.test/hook")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                send_json(self, 404, {"error": "no such hook"})

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    holder = Receiver(port=0)
    server = local_server(_handler(holder))
    holder.port = server.server_address[1]
    serve_in_background(server)
    yield holder
    stop_server(server)


@pytest.fixture
def local_outbound(settings: Any) -> Any:
    """Plain http:// to 127.0.0.1 for this process (the tests' worker has it already)."""
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    return settings


def make_endpoint(
    org: Any, url: str = "https://hooks.example.test/fastn", event_types: list[str] | None = None
) -> Any:
    """An endpoint of ``org`` made through the service (as its Owner); returns the endpoint,
    with the secret shown at creation as ``endpoint.secret``."""
    from tenancy.context import ORGANIZATION, context
    from webhooks.services import webhook_endpoint_create

    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        created = webhook_endpoint_create(
            acting_user=org.owner,
            organization=org,
            url=url,
            event_types=event_types or ["customer.created"],
        )
    created.endpoint.secret = created.secret
    return created.endpoint


def in_org(org: Any) -> Any:
    from tenancy.context import ORGANIZATION, context

    return context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id)
