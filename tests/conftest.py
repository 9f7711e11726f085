"""Test-database mechanism of SPEC §5.1 and shared fixtures.

Only the owner aliases create and migrate the test databases (the runtime and platform aliases
mirror them), so tests connect as ``fastn_app`` exactly as the web processes do. Tests that touch
several databases use ``ALL_DATABASES``; ``transaction=True`` tests therefore flush through the
owner aliases, which may TRUNCATE.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ALL_DATABASES = "__all__"

pytest_plugins = ["tests.browser.fixtures", "tests.world"]


@pytest.fixture(scope="session")
def django_db_setup(
    request: pytest.FixtureRequest,
    django_test_environment: None,
    django_db_blocker: Any,
    django_db_keepdb: bool,
) -> Iterator[None]:
    from django.test.utils import setup_databases, teardown_databases

    from tenancy.checks import all_problems
    from tenancy.router import owner_aliases

    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            keepdb=django_db_keepdb,
            aliases=sorted(owner_aliases()),
        )
        problems = all_problems()
        if problems:
            pytest.exit("Row-level security is not in force:\n" + "\n".join(problems), 3)
    yield
    if not django_db_keepdb:
        from django.db import connections

        connections.close_all()
        with django_db_blocker.unblock():
            try:
                teardown_databases(config, verbosity=request.config.option.verbose)
            except Exception as exc:  # noqa: BLE001 - a leftover test database is not a failure
                print(f"warning: could not drop test databases: {exc}")


@pytest.fixture(autouse=True)
def fresh_throttles() -> Iterator[None]:
    """Each test starts with empty throttle counters and no cached identity-provider documents
    (``sso.oidc``; a later test's provider may get the same port), this run's keys only."""
    yield
    from django.conf import settings
    from django.core.cache import cache

    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    try:
        redis_client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
        keys = [
            key
            for kind in ("throttle", "sso")
            for key in redis_client.scan_iter(match=f"{prefix}:*{kind}:*", count=500)
        ]
        if keys:
            redis_client.delete(*keys)
    except Exception:  # noqa: BLE001 - a test that stopped Redis leaves nothing to clear
        pass


def require_binary(name: str) -> str | None:
    """Path of ``name``, or skip (fail under FASTN_REQUIRE_ALL=1) when the machine lacks it."""
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None
    )
    if path:
        return path
    if os.environ.get("FASTN_REQUIRE_ALL") == "1":
        pytest.fail(f"{name} is required (FASTN_REQUIRE_ALL=1) but not installed")
    pytest.skip(f"{name} is not installed on this machine")
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("FASTN_REQUIRE_ALL") != "1":
        return
    # Under CI any skip is a failure: turn skip markers into failures at run time.
    config.pluginmanager.register(_FailSkips(), "fail-skips")


class _FailSkips:
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any) -> Iterator[None]:
        outcome = yield
        report = outcome.get_result()
        if report.skipped and not hasattr(report, "wasxfail"):
            report.outcome = "failed"
            report.longrepr = f"skipped under FASTN_REQUIRE_ALL=1: {report.longrepr}"


def _database_url(cfg: dict[str, Any]) -> str:
    from urllib.parse import quote

    host = cfg.get("HOST") or ""
    host = quote(host, safe="") if host.startswith("/") else host
    port = f":{cfg['PORT']}" if cfg.get("PORT") else ""
    password = f":{quote(cfg['PASSWORD'], safe='')}" if cfg.get("PASSWORD") else ""
    return f"postgres://{quote(cfg['USER'], safe='')}{password}@{host}{port}/{cfg['NAME']}"


def test_database_environment() -> dict[str, str]:
    """Environment variables that point a subprocess (a Celery worker) at the test databases."""
    from django.conf import settings
    from django.db import connections

    regions = []
    for region, aliases in settings.TENANCY_REGION_ALIASES.items():
        if aliases.runtime != "default":
            regions.append(f"{region}={_database_url(connections[aliases.runtime].settings_dict)}")
    return {
        "DATABASE_URL": _database_url(connections["default"].settings_dict),
        "DATABASE_OWNER_URL": _database_url(connections["owner"].settings_dict),
        "DATABASE_PLATFORM_URL": _database_url(connections["platform"].settings_dict),
        "REGION_DATABASE_URLS": ",".join(regions),
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "FASTN_TESTING": "1",
        # Tests' outbound targets are local HTTP servers the tests start.
        "OUTBOUND_ALLOW_HTTP_LOCALHOST": "1",
    }


def stop_process(
    process: subprocess.Popen[Any], *, timeout: float = 15, group: bool = False
) -> None:
    """SIGTERM ``process`` (with ``group``, its whole process group), then SIGKILL it if it has
    not exited within ``timeout`` seconds."""
    if process.poll() is not None:
        return

    def send(sig: signal.Signals) -> None:
        if group:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)

    send(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait(timeout=10)


def start_celery_worker(
    *,
    name: str,
    queue: str,
    env: dict[str, str],
    log_path: Path,
    timeout: float = 60,
    pool: str = "solo",
) -> subprocess.Popen[bytes]:
    """Start ``celery -A tests.celery_app worker -P <pool>`` (one process or child) on ``queue``
    and wait until it is ready; the log goes to ``log_path``."""
    from django.conf import settings

    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.celery_app",
                "worker",
                "-P",
                pool,
                "-c",
                "1",
                "-l",
                "info",
                "-n",
                name,
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "-Q",
                queue,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Celery worker exited early:\n{log_path.read_text()}")
        if " ready." in log_path.read_text():
            return process
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"Celery worker did not start within {timeout:.0f} s:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One real Celery worker (``-P solo``) on the test databases and this run's own queue.

    Tasks commit before a worker can see their rows, so tests that use it are
    ``transaction=True``.
    """
    from django.conf import settings

    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    process = start_celery_worker(
        name=f"test-{os.getpid()}@localhost",
        queue=settings.CELERY_TASK_DEFAULT_QUEUE,
        env={**os.environ, **test_database_environment()},
        log_path=log_path,
    )
    process.log_path = log_path  # type: ignore[attr-defined]
    yield process
    stop_process(process)
