"""The RLS overhead benchmark runs at smoke scale in the suite: it completes and its query plans
read the customer's index entries (the ratio is measured at full scale, see
docs/PERFORMANCE.md)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ALL_DATABASES


@pytest.mark.bench
@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_rls_overhead_benchmark_completes_and_uses_the_tenant_index() -> None:
    from bench.rls_overhead import PAGE, measure, plan_uses_tenant_index, report

    figures = measure("smoke")
    assert figures.rows == 20_000 and figures.customers == 20
    for variant in (figures.console, figures.policies_only):
        assert len(variant.pages) == 4 and all(
            rls > 0 and base > 0 for rls, base in variant.pages.values()
        )
        assert plan_uses_tenant_index(variant.plan, index=None), variant.plan
        # PostgreSQL 18 prints row counts with decimals (rows=50.00).
        assert re.search(rf"rows={PAGE}(\.0+)? ", variant.plan.splitlines()[0])
    assert "Seq Scan" not in figures.policies_only.plan
    assert "ratio RLS / baseline" in report(figures).splitlines()[-1]
