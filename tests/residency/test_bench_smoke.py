"""The residency benchmark runs at smoke scale in the suite: it must complete and move rows."""

from __future__ import annotations

import pytest

from tests.conftest import ALL_DATABASES


@pytest.mark.bench
@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_relocation_benchmark_completes_at_smoke_scale() -> None:
    from bench.relocation import run

    figures = run("smoke")
    assert figures["rows_per_second"] > 0
    assert figures["ratio"] > 0
