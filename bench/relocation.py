"""Relocation throughput and the cost of organization-wide reads across regions (issue 7).

1. Moves a customer with N execution-log rows from the US to the EU database and back, several
   times, and reports rows per second (median). Target: >= 50,000 rows/s at full scale (issue 15).
2. Lists the first page of an organization's customers with their connection counts (the
   Settings → Customers page's queries) for an organization whose customers are spread over three
   regions, against one whose customers all live in one region, in the same run. Target: at
   most 1.5x.

Run: ``python -m bench.relocation --scale full`` (``make bench``); the suite runs ``--scale
smoke``. It creates throwaway test databases (suffix ``_bench_relocation``) and drops them at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from bench import _harness as harness

SCALES: dict[str, dict[str, int]] = {
    "smoke": {"rows": 2_000, "customers": 300, "runs": 3},
    "full": {"rows": 100_000, "customers": 10_000, "runs": 5},
}


def _owner_execute(alias_region: str, sql: str, params: list[Any]) -> None:
    from django.db import connections

    from tenancy.context import region_alias

    with connections[region_alias(alias_region, login="owner")].cursor() as cursor:
        cursor.execute(sql, params)


def _load_execution_logs(org_id: uuid.UUID, customer_id: uuid.UUID, rows: int) -> None:
    _owner_execute(
        "us",
        "INSERT INTO dataplane_executionlog (id, org_id, customer_id, created_at, source, status, "
        "started_at, finished_at, duration_ms, message) "
        "SELECT gen_random_uuid(), %s, %s, now() - (g || ' seconds')::interval, 'workflow', "
        "'completed', now(), now(), (g %% 900) + 20, 'ok run ' || g "
        "FROM generate_series(1, %s) g",
        [str(org_id), str(customer_id), rows],
    )


def _load_customers(org_id: uuid.UUID, count: int, regions: list[str]) -> None:
    from django.db import connections

    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "INSERT INTO customers_customer "
            "(id, org_id, name, slug, status, region, created_at, labels, metadata) "
            "SELECT gen_random_uuid(), %s, 'Customer ' || lpad(g::text, 6, '0'), "
            "'customer-' || g, 'active', (%s::text[])[1 + g %% %s], now(), '{}', '{}' "
            "FROM generate_series(1, %s) g",
            [str(org_id), regions, len(regions), count],
        )


def relocation_rows_per_second(rows: int, runs: int) -> float:
    from customers.models import Customer
    from residency.services import relocation_run, relocation_start
    from tenancy.context import ORGANIZATION, context
    from tests.factories import make_customer, make_org

    org = make_org("Bench relocation")
    customer = make_customer(org, "Large customer", region="us")
    _load_execution_logs(org.id, customer.id, rows)

    def move() -> None:
        with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
            current = Customer.objects.get(id=customer.id)
            target = "eu" if current.region == "us" else "us"
            relocation = relocation_start(acting_user=org.owner, customer=current, to_region=target)
        relocation_run(org_id=org.id, relocation_id=relocation.id)

    seconds = harness.median_seconds(move, runs)
    return rows / seconds


def customer_list_ratio(customers: int, runs: int) -> tuple[float, float]:
    from customers import selectors
    from tenancy.context import ORGANIZATION, context
    from tests.factories import make_org

    spread = make_org("Bench spread")
    single = make_org("Bench single")
    _load_customers(spread.id, customers, ["us", "eu", "apac"])
    _load_customers(single.id, customers, ["us"])

    def page(org_id: uuid.UUID) -> Callable[[], None]:
        def run() -> None:
            with context(org_id=org_id, role=ORGANIZATION):
                rows = list(selectors.customer_list()[:25])
                selectors.connection_counts(rows)
                selectors.customer_list().count()

        return run

    page(single.id)()
    page(spread.id)()
    single_seconds = harness.median_seconds(page(single.id), runs * 4)
    spread_seconds = harness.median_seconds(page(spread.id), runs * 4)
    return single_seconds, spread_seconds


def run(scale: str) -> dict[str, float]:
    """Run both measurements in already-prepared (test) databases and return the figures."""
    params = SCALES[scale]
    rows_per_second = relocation_rows_per_second(params["rows"], params["runs"])
    single, spread = customer_list_ratio(params["customers"], params["runs"])
    return {
        "rows": params["rows"],
        "rows_per_second": rows_per_second,
        "customers": params["customers"],
        "single_region_ms": single * 1000,
        "three_regions_ms": spread * 1000,
        "ratio": spread / single,
    }


def report(figures: dict) -> str:
    return "\n".join(
        [
            f"relocation: {figures['rows']:,} execution-log rows",
            f"  rows per second (median of runs): {figures['rows_per_second']:,.0f}"
            "  (target >= 50,000)",
            f"customer list, first page with connection counts, {figures['customers']:,} customers",
            f"  one region:    {figures['single_region_ms']:.2f} ms (median)",
            f"  three regions: {figures['three_regions_ms']:.2f} ms (median)",
            f"ratio three regions / one region: {figures['ratio']:.2f}  (target <= 1.5)",
        ]
    )


def main() -> int:
    return harness.main(
        __doc__, SCALES, "_bench_relocation", lambda args: (report(run(args.scale)), 0)
    )


if __name__ == "__main__":
    raise SystemExit(main())
