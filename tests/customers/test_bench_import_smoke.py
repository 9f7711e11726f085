"""The import benchmark runs at smoke scale in the suite: both imports complete, the second
changes nothing, and the figures are reported."""

from __future__ import annotations

import pytest

from tests.conftest import ALL_DATABASES


@pytest.mark.bench
@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_import_benchmark_completes_at_smoke_scale() -> None:
    from bench.import_customers import report, run

    figures = run("smoke")
    assert figures["rows"] == 300
    assert all(rate > 0 for rate in figures["rows_per_s"].values())
    assert figures["ratio"] > 0
    assert "rows/s" in report(figures)
