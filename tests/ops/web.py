"""The console served by gunicorn on an installation of tests/ops/servers.py, and a person
using it over HTTP."""

from __future__ import annotations

import http.cookiejar
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.ops.servers import REPO, Installation


def gunicorn(
    installation: Installation, port: int, log: Path, *, workers: int = 1, **extra: str
) -> subprocess.Popen[bytes]:
    """gunicorn serving the console on 127.0.0.1:``port`` with the installation's configuration
    (and ``extra`` variables), its output in ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "fastn_console.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--timeout",
                "60",
            ],
            cwd=REPO,
            env=installation.environment(**{"AXES_ENABLED": "false", **extra}),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_serving(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited ({process.returncode}):\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{base}/healthz/live", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"gunicorn did not serve within 60 s:\n{log.read_text()[-4000:]}")


def logged_in_page(base: str, email: str, path: str) -> str:
    """Log in as ``email`` through the login form, then GET ``path``."""
    from tests.factories import PASSWORD

    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with browser.open(f"{base}/accounts/login/", timeout=10) as response:
        form = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token, form[:2000]
    fields = {"csrfmiddlewaretoken": token.group(1), "username": email, "password": PASSWORD}
    login = urllib.request.Request(
        f"{base}/accounts/login/",
        data=urllib.parse.urlencode(fields).encode(),
        headers={"Referer": f"{base}/accounts/login/"},
    )
    with browser.open(login, timeout=10) as response:
        assert "/accounts/login/" not in response.url, "the login failed"
    with browser.open(f"{base}{path}", timeout=10) as response:
        assert response.status == 200
        return response.read().decode()
