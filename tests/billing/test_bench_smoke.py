"""The Billing page benchmark runs at smoke scale in the suite: constant queries, completes."""

from __future__ import annotations

import pytest

from tests.conftest import ALL_DATABASES


@pytest.mark.bench
@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_billing_page_benchmark_runs_a_constant_number_of_queries() -> None:
    from bench.billing_page import report, run

    figures = run("smoke")
    assert {label: len(set(counts)) for label, counts in figures["queries"].items()} == {
        "billing 30 days": 1,
        "billing 90 days": 1,
        "one customer": 1,
    }
    assert figures["ms"]["billing 90 days"] > 0 and figures["ratio"] > 0
    assert "ratio Billing (90 days) / minimal page" in report(figures)
