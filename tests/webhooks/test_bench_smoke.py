"""The webhook delivery benchmark runs at smoke scale in the suite: it completes, every delivery
succeeds, and the delivery log's query uses the tenant index."""

from __future__ import annotations

import pytest

from tests.conftest import ALL_DATABASES


@pytest.mark.bench
@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_webhook_delivery_benchmark_completes_at_smoke_scale() -> None:
    from bench.webhook_delivery import report, run

    figures = run("smoke")
    assert figures["rate_median"] > 0 and len(figures["rates"]) == figures["runs"]
    assert figures["outbox_ratio"] > 0
    assert figures["plan_uses_tenant_index"], figures["plan"]
    assert report(figures)
