"""PostgreSQL restarted while requests are in flight (SPEC §15): every page and API call answers
200 or 503 with Retry-After — never a 500 — and the same gunicorn workers serve again as soon as
the server is back, with a new connection per request, persistent connections
(``CONN_HEALTH_CHECKS``) and Django's pool (which checks each connection it hands out).

The installation is a real one on an embedded server of the test's own (tests/ops/servers.py),
run with production settings (``DJANGO_DEBUG=false``), so Django's own error handling is the one
a production node runs.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.conftest import stop_process
from tests.ops.servers import REGIONS, Installation, free_port, postgres_servers
from tests.ops.web import gunicorn, wait_until_serving

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "LOG_REQUESTS": "false",
}
CONFIGURATIONS = {
    "a connection per request": {"DATABASE_CONN_MAX_AGE": "0"},
    "persistent connections": {"DATABASE_CONN_MAX_AGE": "300"},
    "Django's pool": {"DATABASE_POOL": "true"},
}


def seed_for_restart() -> str:
    """Runs inside a Django process of the installation: an organization with a customer, a
    session of its owner and an API key (on a plan whose per-minute API limit the load stays
    under)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from tests.api.conftest import make_key
    from tests.factories import make_customer, make_org

    org = make_org("Restart Org", plan_code="growth")
    customer = make_customer(org, "Northwind", region="eu")
    session = SessionStore()
    session[SESSION_KEY] = str(org.owner.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = org.owner.get_session_auth_hash()
    session.create()
    return json.dumps(
        {
            "pages": [
                f"/o/{org.slug}/settings/customers/",
                f"/o/{org.slug}/customers/{customer.id}/",
            ],
            "session": session.session_key,
            "key": make_key(org),
        }
    )


@dataclass
class Answer:
    path: str
    status: int
    retry_after: str | None
    body: bytes


@dataclass
class Load:
    """Threads that keep asking the pages and the API until stopped."""

    port: int
    seeded: dict[str, object]
    answers: list[Answer] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def ask(self, path: str) -> Answer:
        headers = {"Cookie": f"sessionid={self.seeded['session']}"}
        if path.startswith("/api/"):
            headers = {"Authorization": f"Bearer {self.seeded['key']}"}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            return Answer(path, response.status, response.getheader("Retry-After"), response.read())
        finally:
            connection.close()

    def healed(self, within: float = 30) -> list[Answer]:
        """The pages and the API once they all answer again (a pool reconnects with a back-off,
        so the first seconds after the restart may still be 503s)."""
        deadline = time.monotonic() + within
        while True:
            answers = [self.ask(path) for path in self.paths()]
            if all(a.status == 200 for a in answers) or time.monotonic() > deadline:
                return answers
            time.sleep(0.2)

    def saw_the_outage(self) -> bool:
        return any(answer.status == 503 for answer in list(self.answers))

    def paths(self) -> list[str]:
        return [*self.seeded["pages"], "/api/v1/customers"]  # type: ignore[misc]

    def _run(self) -> None:
        while not self.stopping.is_set():
            for path in self.paths():
                try:
                    self.answers.append(self.ask(path))
                except OSError as exc:  # the web server itself must never drop a request
                    self.failures.append(f"{path}: {exc!r}")

    def __enter__(self) -> Load:
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(3)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)


def worker_pids(web: object) -> set[int]:
    return {child.pid for child in psutil.Process(web.pid).children()}  # type: ignore[attr-defined]


def test_a_postgresql_restart_mid_request_gives_503s_never_500s_and_heals_itself(
    tmp_path: Path,
) -> None:
    with postgres_servers(["main"]) as servers:
        server = servers["main"]
        installation = Installation(server, {region: server for region in REGIONS})
        installation.manage("db_bootstrap")
        installation.manage("migrate")
        seeded = json.loads(installation.call("tests.ops.test_database_restart:seed_for_restart"))
        for name, configuration in CONFIGURATIONS.items():
            port = free_port()
            log = tmp_path / f"gunicorn-{port}.log"
            web = gunicorn(installation, port, log, workers=2, **PRODUCTION, **configuration)
            try:
                wait_until_serving(f"http://127.0.0.1:{port}", web, log)
                load = Load(port, seeded)
                assert [load.ask(path).status for path in load.paths()] == [200, 200, 200], name
                workers = worker_pids(web)
                with load:
                    time.sleep(0.5)
                    # Down for a second and a half, and until a request has seen it (on a busy
                    # machine requests may be slow to come).
                    server.restart(down_for=1.5, until=load.saw_the_outage)
                    time.sleep(1.0)
                after = load.healed()
                assert worker_pids(web) == workers, f"{name}: gunicorn replaced its workers"
            finally:
                stop_process(web, group=True)
            context = f"{name}:\n{log.read_text()[-3000:]}"
            assert not load.failures, context
            pages = {a.status for a in load.answers if not a.path.startswith("/api/")}
            api = {a.status for a in load.answers if a.path.startswith("/api/")}
            assert pages <= {200, 503}, f"{name}: {sorted(pages)}\n{context}"
            assert api <= {200, 503}, f"{name}: {sorted(api)}\n{context}"
            refused = [answer for answer in load.answers if answer.status == 503]
            assert refused, f"{name}: no request saw the outage"
            assert all(answer.retry_after == "5" for answer in refused), name
            for answer in refused:
                if answer.path.startswith("/api/"):
                    assert json.loads(answer.body)["error"]["code"] == "service_unavailable"
                else:
                    assert b"Temporarily unavailable" in answer.body
            assert [answer.status for answer in after] == [200, 200, 200], name
