"""Specifications of scripts/devstack.py and the Makefile's Python finder (no database needed)."""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import environ
import psutil
import psycopg
import pytest

REPO = Path(__file__).resolve().parent.parent


def _import_script(name: str) -> ModuleType:
    """Imports scripts/<name>.py the way the script finds its siblings: scripts/ on sys.path."""
    scripts = str(REPO / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    return importlib.import_module(name)


devstack = _import_script("devstack")
processes = _import_script("devstack_processes")
embedded = _import_script("devstack_services")


# .env


def test_env_file_is_created_private_with_a_secret_key_and_debug(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"

    written = devstack.ensure_env_file(env_file)

    assert written == ["DJANGO_SECRET_KEY", "DJANGO_DEBUG"]
    assert env_file.read_text().startswith("# Fastn Console local configuration")
    values = devstack.parse_env_file(env_file)
    assert len(values["DJANGO_SECRET_KEY"]) >= 50
    assert values["DJANGO_DEBUG"] == "true"
    assert env_file.stat().st_mode & 0o777 == 0o600


def test_env_file_keeps_existing_lines_and_appends_only_what_is_missing(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# mine\nDJANGO_DEBUG=false\nDATABASE_URL=postgres://x@db/y")

    written = devstack.ensure_env_file(env_file)

    assert written == ["DJANGO_SECRET_KEY"]
    lines = env_file.read_text().splitlines()
    assert lines[:3] == ["# mine", "DJANGO_DEBUG=false", "DATABASE_URL=postgres://x@db/y"]
    assert lines[3].startswith("DJANGO_SECRET_KEY=")


def test_env_file_with_everything_is_left_untouched(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DJANGO_SECRET_KEY=k\nDJANGO_DEBUG=true\n")

    assert devstack.ensure_env_file(env_file) == []
    assert env_file.read_text() == "DJANGO_SECRET_KEY=k\nDJANGO_DEBUG=true\n"


def test_env_file_is_parsed_like_django_environ(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\n\nexport A=1\nB='two words'\nC=\"x\"\nD=a#b\nnot a line\nE=\n")

    assert devstack.parse_env_file(env_file) == {
        "A": "1",
        "B": "two words",
        "C": "x",
        "D": "a#b",
        "E": "",
    }
    assert devstack.parse_env_file(tmp_path / "missing") == {}


def test_real_environment_wins_over_env_file_and_services_fill_only_gaps() -> None:
    env = devstack.layered_env(
        {"DJANGO_DEBUG": "true", "DATABASE_URL": "from-file"},
        {"DJANGO_DEBUG": "false", "PATH": "/bin"},
        {"REDIS_URL": "redis://127.0.0.1:1/0"},
    )

    assert env["DJANGO_DEBUG"] == "false"
    assert env["DATABASE_URL"] == "from-file"
    assert env["REDIS_URL"] == "redis://127.0.0.1:1/0"
    assert env["PYTHONUNBUFFERED"] == "1"


# Locations and URLs


def test_data_lives_in_the_checkout_unless_root() -> None:
    assert embedded.data_folder(Path("/src/app"), as_root=False) == Path("/src/app/.data")


def test_as_root_data_lives_under_the_temp_folder_one_per_checkout() -> None:
    first = embedded.data_folder(Path("/root/app"), as_root=True)
    second = embedded.data_folder(Path("/root/other"), as_root=True)

    assert first.parent == Path(tempfile.gettempdir())
    assert first.name.startswith("fastn-console-")
    assert first != second
    assert first == embedded.data_folder(Path("/root/app"), as_root=True)


@pytest.mark.parametrize("socket_folder", ["/tmp/fastn-console-ab12/pg", "/home/A b/.data/pg"])
def test_socket_url_reaches_the_socket_folder_through_django_environ_and_libpq(
    socket_folder: str,
) -> None:
    url = embedded.postgres_socket_url(Path(socket_folder))

    config = environ.Env.db_url_config(url)
    assert config["NAME"] == "postgres"
    assert config["USER"] == "postgres"
    # Django passes OPTIONS through to psycopg, where host wins over the empty HOST.
    assert config["HOST"] == ""
    assert config["OPTIONS"] == {"host": socket_folder}
    assert psycopg.conninfo.conninfo_to_dict(url) == {
        "host": socket_folder,
        "user": "postgres",
        "dbname": "postgres",
    }


def test_socket_url_names_a_port_other_than_the_default() -> None:
    url = embedded.postgres_socket_url(Path("/s"), 5433)

    assert environ.Env.db_url_config(url)["OPTIONS"] == {"host": "/s", "port": 5433}


# Processes


def _live_members(group: int) -> list[int]:
    """Processes of a process group that still run (zombies wait only for init to reap them)."""
    members = []
    for process in psutil.process_iter(["status"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(process.pid) == group and process.info["status"] != "zombie":
                members.append(process.pid)
    return members


def test_stopping_children_stops_their_whole_process_group() -> None:
    children = processes.Children()
    children.start("sleeper", ["sh", "-c", "sleep 60 & sleep 60; wait"], dict(os.environ))
    group = children.running[0][1].pid
    time.sleep(0.2)

    children.stop_all(signal.SIGTERM)

    assert _live_members(group) == []
    assert children.running == []


def test_a_foreground_step_returns_its_exit_code() -> None:
    children = processes.Children()

    assert children.run("false", ["sh", "-c", "exit 3"], dict(os.environ)) == 3
    assert children.running == []


def test_a_stop_signal_during_a_deferred_block_is_raised_when_the_block_ends() -> None:
    previous = signal.signal(signal.SIGTERM, processes.on_stop_signal)
    finished_block = False
    try:
        with pytest.raises(processes.Interrupted), processes.signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            finished_block = True
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    assert finished_block


def test_embedded_redis_starts_answers_and_stops(tmp_path: Path) -> None:
    services = embedded.EmbeddedServices(tmp_path / "data")

    urls = services.start(postgres=False, redis=True)
    port = int(urls["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    assert embedded.redis_answers(port)
    with services._state() as state:
        pid = state["redis"]["pid"]

    services.stop()

    assert not processes.process_is_running(pid)
    assert not embedded.redis_answers(port)


# The Makefile's Python finder


def _make_python(bin_dir: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "--no-print-directory", "python"],
        cwd=REPO,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
    )


def _fake_interpreter(path: Path, script: str) -> None:
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


@pytest.fixture
def isolated_bin(tmp_path: Path) -> Path:
    """A PATH folder whose python3.12/3.13/3.14/python3/python shadow the machine's (pyenv's
    shims fail this way when pyenv has not selected their version)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("python3.12", "python3.13", "python3.14", "python3", "python", "pyenv"):
        _fake_interpreter(bin_dir / name, "echo 'pyenv: version not selected' >&2; exit 127")
    return bin_dir


def test_finder_skips_failing_shims_and_uses_pyenvs_install(
    isolated_bin: Path, tmp_path: Path
) -> None:
    installed = tmp_path / "home" / ".pyenv" / "versions" / "3.12.9" / "bin"
    installed.mkdir(parents=True)
    (installed / "python").symlink_to(sys.executable)

    result = _make_python(isolated_bin, tmp_path / "home")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(installed / "python")


def test_finder_rejects_an_old_python_with_a_plain_message(
    isolated_bin: Path, tmp_path: Path
) -> None:
    old_python = shutil.which("python3.11", path="/usr/bin:/usr/local/bin")
    # Without a real 3.11, a stand-in that fails the version check the same way.
    _fake_interpreter(
        isolated_bin / "python3", f'exec {old_python} "$@"' if old_python else "exit 1"
    )

    result = _make_python(isolated_bin, tmp_path / "nohome")

    assert result.returncode != 0
    assert "needs Python 3.12 or newer, and none was found" in result.stderr


# make run / make dev


def test_run_serves_with_gunicorn_and_dev_with_the_reloading_server() -> None:
    run = devstack.web_command(port=8123, reload=False)
    assert run[1:4] == ["-m", "gunicorn", "fastn_console.wsgi:application"]
    assert run[run.index("--bind") + 1] == "127.0.0.1:8123"
    assert int(run[run.index("--workers") + 1]) >= 3
    dev = devstack.web_command(port=8123, reload=True)
    assert dev[1:] == ["manage.py", "runserver", "127.0.0.1:8123"]
    parser = devstack.build_parser()
    assert parser.parse_args(["run"]).reload is False
    assert parser.parse_args(["dev"]).reload is True


def test_web_port_comes_from_the_environment_and_bad_values_stop_with_a_message() -> None:
    assert devstack.web_port({}) == 8000
    assert devstack.web_port({"WEB_PORT": "8081"}) == 8081
    for bad in ("http", "0", "70000", "-1"):
        with pytest.raises(processes.DevstackError, match="WEB_PORT"):
            devstack.web_port({"WEB_PORT": bad})


def test_gunicorn_workers_follow_the_cores_within_bounds() -> None:
    assert devstack.web_workers(1) == 3
    assert devstack.web_workers(2) == 5
    assert devstack.web_workers(64) == 8


def test_procfile_names_web_worker_and_beat() -> None:
    lines = (REPO / "Procfile").read_text().splitlines()
    kinds = {line.split(":", 1)[0]: line.split(":", 1)[1] for line in lines if line.strip()}
    assert set(kinds) == {"web", "worker", "worker-llm", "beat"}
    assert "gunicorn fastn_console.wsgi:application" in kinds["web"]
    assert "celery -A fastn_console worker" in kinds["worker"]
    assert "celery -A fastn_console beat" in kinds["beat"]
