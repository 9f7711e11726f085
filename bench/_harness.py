"""What every benchmark's command line shares: parse ``--scale``, set up Django with test
databases of its own (``FASTN_TEST_DB_SUFFIX``), run, tear the databases down, print.

Each benchmark's ``main()`` is ``_harness.main(__doc__, SCALES, "_suffix", measure)`` where
``measure(args)`` returns ``(report text, exit code)``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def main(
    doc: str | None,
    scales: Iterable[str],
    db_suffix: str,
    measure: Callable[[argparse.Namespace], tuple[str, int]],
    *,
    arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    test_environment: bool = False,
) -> int:
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--scale", choices=sorted(scales), default="smoke")
    if arguments is not None:
        arguments(parser)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastn_console.settings")
    os.environ["FASTN_TEST_DB_SUFFIX"] = db_suffix
    os.environ.setdefault("FASTN_TESTING", "1")
    # Django is set up here, after the environment above: a benchmark's module imports no
    # project code at its top.
    import django

    django.setup()
    from django.db import connections
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    from tenancy.router import owner_aliases

    if test_environment:
        setup_test_environment()
        _render_templates_as_in_production()
    config = setup_databases(verbosity=0, interactive=False, aliases=sorted(owner_aliases()))
    try:
        text, code = measure(args)
    finally:
        connections.close_all()
        teardown_databases(config, verbosity=0)
    print(text)
    return code


def _render_templates_as_in_production() -> None:
    """Undo the one part of Django's test environment that production does not have: its
    instrumented template rendering, which sends a signal for every template and include and
    has the test client copy the whole context each time."""
    from django.template import Template
    from django.template.base import PartialTemplate
    from django.test.utils import _TestState

    saved = _TestState.saved_data
    Template._render = saved.template_render  # type: ignore[method-assign]
    PartialTemplate._render = saved.partial_template_render  # type: ignore[method-assign]


def timings(func: Callable[[], Any], runs: int) -> list[float]:
    """Seconds each of ``runs`` calls of ``func`` took, in call order."""
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        seconds.append(time.perf_counter() - start)
    return seconds


def median_seconds(func: Callable[[], Any], runs: int) -> float:
    return statistics.median(timings(func, runs))


def page_medians_ms(client: Any, urls: dict[str, str], runs: int) -> dict[str, float]:
    """Label -> median milliseconds of ``client.get`` of each URL, over ``runs`` rounds after a
    warm-up round. Interleaved: each round requests every URL once, so a machine that slows down
    or speeds up during the run weighs on every page alike (a ratio to a minimal page stays
    fair)."""
    seconds: dict[str, list[float]] = {label: [] for label in urls}
    for round_ in range(runs + 1):
        for label, url in urls.items():
            start = time.perf_counter()
            client.get(url)
            if round_:
                seconds[label].append(time.perf_counter() - start)
    return {label: statistics.median(values) * 1000 for label, values in seconds.items()}


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
