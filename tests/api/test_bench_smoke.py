"""The API benchmark runs at smoke scale in the suite: it completes, and the list query uses the
tenant index."""

from __future__ import annotations

import pytest

from tests.conftest import ALL_DATABASES


@pytest.mark.bench
@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_api_benchmark_completes_at_smoke_scale() -> None:
    from bench.api_load import report, run

    figures = run("smoke")
    assert figures["minimal_requests"] > 0 and figures["list_requests"] > 0
    assert figures["check_median_ms"] > 0
    assert figures["plan_uses_tenant_index"], figures["plan"]
    assert report(figures)
