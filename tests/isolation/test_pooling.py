"""Pooler-safe (SPEC §5.8): nothing of a tenant context survives its transaction, so connections
shared between customers never leak — with persistent connections (``CONN_MAX_AGE=600``), with
Django's ``pool`` option and behind a real PgBouncer in transaction mode.

Several threads alternate customers A, B (same organization) and G (another organization) on a
few physical connections; each asserts that it only ever sees its own rows, and that the very
next transaction on the same connection, without a context, sees nothing at all.
"""

from __future__ import annotations

import copy
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import close_old_connections, connections, transaction

from dataplane.models import ExecutionLog
from tenancy.context import CUSTOMER, ORGANIZATION, context, region_alias, standalone_reads
from tests.conftest import require_binary
from tests.isolation.world import IsolationWorld

THREADS = 6
ROUNDS = 24
KEYS = ("A", "B", "G")
REGION = settings.TENANCY_REGIONS[-1]
STALE_SQL = (
    "SELECT count(*), coalesce(current_setting('app.org_id', true), ''), "
    "coalesce(current_setting('app.tenant_id', true), '') FROM dataplane_executionlog"
)


def runtime_aliases() -> list[str]:
    return list(dict.fromkeys(["default", region_alias(REGION)]))


@contextmanager
def runtime_settings(**changes: Any) -> Iterator[None]:
    """Point the runtime aliases at other connection settings for the duration of a test.

    Django's wrappers share the settings dict, so it is changed in place and restored, and
    every connection (and pool) opened meanwhile is closed on the way out.
    """
    saved = {alias: copy.deepcopy(connections.settings[alias]) for alias in runtime_aliases()}
    for alias in runtime_aliases():
        connections[alias].close()
        for key, value in changes.items():
            if key == "OPTIONS":
                connections.settings[alias]["OPTIONS"] = {**saved[alias]["OPTIONS"], **value}
            else:
                connections.settings[alias][key] = value
    try:
        yield
    finally:
        for alias in runtime_aliases():
            connections[alias].close()
            close_pool = getattr(connections[alias], "close_pool", None)
            if close_pool is not None:
                close_pool()
            connections.settings[alias].clear()
            connections.settings[alias].update(saved[alias])


def _alternate(
    isolation_world: IsolationWorld, index: int, seen: list[tuple[int, str]], errors: list[str]
) -> None:
    alias = region_alias(REGION)
    try:
        for round_ in range(ROUNDS):
            key = KEYS[(index + round_) % len(KEYS)]
            party = isolation_world.party(key, REGION)
            role = CUSTOMER if round_ % 2 else ORGANIZATION
            with context(org_id=party.org_id, customer_id=party.customer_id, role=role):
                with standalone_reads():  # first: the region's transaction has not begun
                    alone = set(ExecutionLog.objects.values_list("customer_id", flat=True))
                customers = set(ExecutionLog.objects.values_list("customer_id", flat=True))
                logs = list(ExecutionLog.objects.unscoped().iterator(chunk_size=1))
                with connections[alias].cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    pid = cursor.fetchone()[0]
            if customers != {party.customer_id} or {log.customer_id for log in logs} != customers:
                errors.append(f"{key} saw {customers} / {[log.customer_id for log in logs]}")
            if alone != customers:
                errors.append(f"{key}'s standalone read saw {alone}")
            with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
                cursor.execute(STALE_SQL)
                leftover = cursor.fetchone()
            if leftover != (0, "", ""):
                errors.append(f"after {key}: the next transaction saw {leftover}")
            seen.append((pid, key))
            close_old_connections()
    except Exception as exc:  # noqa: BLE001 - reported to the main thread
        errors.append(f"thread {index}: {exc!r}")
    finally:
        connections.close_all()


def _run_threads(isolation_world: IsolationWorld) -> list[tuple[int, str]]:
    seen: list[tuple[int, str]] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=_alternate, args=(isolation_world, i, seen, errors))
        for i in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert errors == []
    assert len(seen) == THREADS * ROUNDS
    return seen


def _shared_connections(seen: list[tuple[int, str]]) -> int:
    """How many physical connections served more than one customer."""
    by_pid: dict[int, set[str]] = {}
    for pid, key in seen:
        by_pid.setdefault(pid, set()).add(key)
    return sum(1 for keys in by_pid.values() if len(keys) > 1)


def test_persistent_connections_never_carry_a_context_over(isolation_world: IsolationWorld) -> None:
    with runtime_settings(CONN_MAX_AGE=600, CONN_HEALTH_CHECKS=True):
        seen = _run_threads(isolation_world)
    assert _shared_connections(seen) == THREADS


def test_django_connection_pool_never_carries_a_context_over(
    isolation_world: IsolationWorld,
) -> None:
    with runtime_settings(CONN_MAX_AGE=0, OPTIONS={"pool": {"min_size": 1, "max_size": 2}}):
        seen = _run_threads(isolation_world)
    assert len({pid for pid, _ in seen}) <= 2
    assert _shared_connections(seen) >= 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _bouncer_folder(socket_dir: str | None) -> Iterator[tuple[Path, list[str]]]:
    """A private folder for PgBouncer's files and the arguments that run it. PgBouncer refuses
    to run as root, so as root it switches to ``nobody`` — or, when the server listens on a
    unix socket in its private data folder (the embedded PostgreSQL), to that folder's owner —
    and that user must own the folder."""
    folder = Path(tempfile.mkdtemp(prefix="fastn-pgbouncer-"))
    args: list[str] = []
    try:
        if os.geteuid() == 0:
            owner = pwd.getpwuid(os.stat(socket_dir).st_uid) if socket_dir else None
            user = owner if owner and owner.pw_uid != 0 else pwd.getpwnam("nobody")
            os.chown(folder, user.pw_uid, user.pw_gid)
            args = ["-u", user.pw_name]
        yield folder, args
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)
    folder = path.parent.stat()
    os.chown(path, folder.st_uid, folder.st_gid)


@pytest.fixture
def pgbouncer() -> Iterator[int]:
    """A PgBouncer of our own, in transaction mode, in front of the test databases."""
    binary = require_binary("pgbouncer")
    assert binary is not None
    main = connections.settings["default"]
    # The embedded PostgreSQL is reached through a unix socket folder given as ?host=…
    host = main["HOST"] or main.get("OPTIONS", {}).get("host") or "127.0.0.1"
    port = main["PORT"] or 5432
    socket_dir = host if host.startswith("/") else None
    names = {connections.settings[alias]["NAME"] for alias in runtime_aliases()}
    listen = _free_port()
    with _bouncer_folder(socket_dir) as (folder, user_args):
        _write_private(folder / "userlist.txt", f'"{main["USER"]}" "{main["PASSWORD"]}"\n')
        databases = "\n".join(f"{name} = host={host} port={port} dbname={name}" for name in names)
        _write_private(
            folder / "pgbouncer.ini",
            f"[databases]\n{databases}\n\n[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {listen}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {folder / 'userlist.txt'}\n"
            "pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 50\n"
            f"logfile = {folder / 'pgbouncer.log'}\n"
            "ignore_startup_parameters = extra_float_digits\n",
        )
        process = subprocess.Popen(
            [binary, *user_args, str(folder / "pgbouncer.ini")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", listen), timeout=0.5).close()
                    break
                except OSError:
                    if process.poll() is not None:
                        pytest.fail(f"pgbouncer exited: {process.communicate()[0]}")
                    time.sleep(0.05)
            yield listen
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_pgbouncer_transaction_mode_never_carries_a_context_over(
    isolation_world: IsolationWorld, pgbouncer: int
) -> None:
    with runtime_settings(
        HOST="127.0.0.1", PORT=pgbouncer, CONN_MAX_AGE=600, DISABLE_SERVER_SIDE_CURSORS=True
    ):
        for alias in runtime_aliases():
            connections[alias].ensure_connection()
            assert connections[alias].connection.info.port == pgbouncer
            connections[alias].close()
        seen = _run_threads(isolation_world)
    # Six threads, two server connections per database: they were shared between customers.
    assert len({pid for pid, _ in seen}) <= 2
    assert _shared_connections(seen) >= 1
