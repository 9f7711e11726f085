"""The customers-page benchmark runs at smoke scale in the suite: constant queries, completes."""

from __future__ import annotations

import pytest

from tests.conftest import ALL_DATABASES


@pytest.mark.bench
@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_customers_page_benchmark_runs_a_constant_number_of_queries() -> None:
    from bench.customers_page import run

    figures = run("smoke")
    for label, (small, large) in figures["queries"].items():
        assert small == large, label
    assert figures["queries"]["list"][1] <= 12  # issue 15's budget, in round trips
    assert figures["ms"]["list"] > 0 and figures["ratio"] > 0
