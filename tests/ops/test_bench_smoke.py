"""The console load benchmark runs at smoke scale in the suite: every request of the mixed
workload answers 200 under gunicorn."""

from __future__ import annotations

import pytest

from tests.conftest import ALL_DATABASES


@pytest.mark.bench
@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_console_load_benchmark_completes_at_smoke_scale() -> None:
    from bench.console_load import report, run

    figures = run("smoke")
    assert figures["mixed_requests"] >= figures["mixed_requests_kinds"]
    assert figures["baseline_requests"] > 0
    assert "mixed console and API p95:" in report(figures)
    assert (figures["baseline_refused"], figures["mixed_refused"]) == ({}, {}), report(figures)
