"""A Redis server of a test's own, and the test process's Celery app pointed at it: for tests that
stop, kill or freeze Redis without touching the one the rest of the suite uses."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis

from tests.conftest import require_binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of the test's own on a free port; the shared one is never touched."""
    binary = require_binary("redis-server")
    assert binary is not None
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0", process
    finally:
        client.close()
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a frozen server cannot act on SIGTERM
            process.terminate()
            process.wait(timeout=10)


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Point the test process's Celery app at another broker for the duration."""
    from fastn_console.celery import app

    def reset() -> None:
        app._pool = None
        app.amqp._producer_pool = None

    previous = app.conf.broker_url
    app.conf.broker_url = url
    reset()
    try:
        yield
    finally:
        app.conf.broker_url = previous
        reset()


def cache_settings(url: str) -> dict[str, Any]:
    """``CACHES`` with the default cache on ``url`` (the key prefix and timeouts unchanged)."""
    from django.conf import settings

    default = {**settings.CACHES["default"], "LOCATION": url}
    return {**settings.CACHES, "default": default}
