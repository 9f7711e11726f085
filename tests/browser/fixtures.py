"""Browser tests: Playwright driving Debian's chromium against pytest-django's live server.

Registered for the whole suite by ``tests/conftest.py`` (one Playwright instance per session:
its sync API cannot run twice in one thread).

Use the ``console`` fixture: it starts (once per session) a headless chromium, gives each test a
fresh browser context, logs in through the real form and saves screenshots at 1280 px and
375 px into the git-ignored ``screenshots/``. The documented set in ``docs/screenshots/`` comes
only from ``tests/browser/test_screenshots.py``, from the demo data ``make run`` shows (written
there with ``FASTN_UPDATE_SCREENSHOTS=1``). Tests that use it are
``transaction=True`` (the live server runs in another thread and sees only committed rows) and
are skipped without chromium (failed under ``FASTN_REQUIRE_ALL=1``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_binary

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDE, NARROW = 1280, 375
_REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = _REPO / "screenshots"
# The committed set, refreshed on demand by test_screenshots.py (FASTN_UPDATE_SCREENSHOTS=1, e.g.
# `make test PYTEST_ARGS=tests/browser/test_screenshots.py`); otherwise it too writes to
# the git-ignored screenshots/.
DOCUMENTED_SCREENSHOTS = (
    _REPO / "docs" / "screenshots"
    if os.environ.get("FASTN_UPDATE_SCREENSHOTS") == "1"
    else SCREENSHOTS
)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    executable = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls that tests make
    # around it are still synchronous, so Django must not refuse them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class Console:
    """One browser context on the live server, with login and screenshot helpers."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.base_url = base_url
        self.context = browser.new_context(
            base_url=base_url, viewport={"width": WIDE, "height": 900}
        )
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()

    def goto(self, path: str) -> Any:
        return self.page.goto(path)

    def login(self, email: str, password: str) -> None:
        self.context.clear_cookies()
        self.goto("/accounts/login/")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url(re.compile(r".*/o/.*"))

    def shoot(
        self, name: str, *, folder: Path = SCREENSHOTS, widths: tuple[int, ...] = (WIDE, NARROW)
    ) -> list[Path]:
        """Screenshot the current page at 1280 px and at 375 px wide (full page) into
        ``folder``, as ``<name>-<width>.png``."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for width in widths:
            self.page.set_viewport_size({"width": width, "height": 900})
            path = folder / f"{name}-{width}.png"
            self._screenshot(path)
            paths.append(path)
        self.page.set_viewport_size({"width": WIDE, "height": 900})
        return paths

    def _screenshot(self, path: Path, attempts: int = 3) -> None:
        """A full-page screenshot. Chromium refuses one now and then while a resize is still
        being laid out on a loaded machine ("Unable to capture screenshot"): then wait for the
        next frame and take it again."""
        from playwright.sync_api import Error as PlaywrightError

        for attempt in range(attempts):
            try:
                self.page.screenshot(path=str(path), full_page=True)
                return
            except PlaywrightError as error:
                if "Unable to capture screenshot" not in str(error) or attempt == attempts - 1:
                    raise
                self.page.evaluate("() => new Promise(done => requestAnimationFrame(done))")

    def shoot_checked(self, name: str, *, folder: Path = SCREENSHOTS) -> list[Path]:
        """``assert_no_horizontal_scroll`` at 375 px, then ``shoot`` at both widths."""
        self.page.set_viewport_size({"width": NARROW, "height": 900})
        self.assert_no_horizontal_scroll()
        self.page.set_viewport_size({"width": WIDE, "height": 900})
        return self.shoot(name, folder=folder)

    def assert_no_horizontal_scroll(self) -> None:
        """At the current width the page itself never scrolls sideways (tables may, inside
        their own wrapper)."""
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"page is {overflow}px wider than the viewport"

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="session")
def plain_http_live_server(request: pytest.FixtureRequest) -> Any:
    """pytest-django's live server, started after switching off what only makes sense behind
    HTTPS (the redirect is read once, when the server builds its middleware)."""
    from django.conf import settings

    for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        setattr(settings, name, False)
    settings.AXES_ENABLED = False
    return request.getfixturevalue("live_server")


@pytest.fixture
def console(chromium: Any, plain_http_live_server: Any) -> Iterator[Console]:
    console = Console(chromium, plain_http_live_server.url)
    yield console
    console.close()
