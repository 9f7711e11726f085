"""Import customers at scale (issue 17): rows per second against one-by-one creation.

In throwaway test databases (suffix ``_importbench``), an organization on the Enterprise plan
imports a CSV of N new customers (each with two labels and a little metadata) through the
services the console calls: the upload's check and preview (``customer_import_create``), then
the run (``customer_import_run``, in this process: the Celery task runs exactly this). The
same file is then imported a second time (every row an upsert that changes nothing).

The baseline, measured in the same run on the same machine, is the path without the import:
the same N customers created one by one through ``customer_create``, each in its own scope
and transaction as a request of the Create customer form would (without the HTTP layer).
Reported: rows/s of the preview, the run, preview + run, the second import, the baseline,
and the ratio import / baseline (target >= 1: importing is never slower than creating the
customers one by one).

Run: ``python -m bench.import_customers --scale full`` (``make bench``); the suite runs ``--scale
smoke``. Full scale: 10,000 rows.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench import _harness as harness

SCALES: dict[str, dict[str, int]] = {
    "smoke": {"rows": 300},
    "full": {"rows": 10_000},
}


def _csv(rows: int, prefix: str) -> bytes:
    lines = ["external_id,name,region,labels,metadata"]
    regions = ("us", "eu", "apac")
    for n in range(rows):
        metadata = json.dumps({"crm_id": n, "segment": "smb"}).replace('"', '""')
        lines.append(
            f'{prefix}-{n:06},Customer {n:06},{regions[n % 3]},env:prod;tier:t{n % 5},"{metadata}"'
        )
    return ("\n".join(lines) + "\n").encode()


def _enterprise_org(name: str) -> Any:
    from customers.models import Organization, Plan
    from tenancy.context import ORGANIZATION, context
    from tests.factories import make_org

    org = make_org(name)
    with context(org_id=org.id, role=ORGANIZATION):
        Organization.objects.filter(id=org.id).update(plan=Plan.objects.get(code="enterprise"))
    with context(org_id=org.id, role=ORGANIZATION):
        return Organization.objects.select_related("plan", "owner").get(id=org.id)


def _rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds else float("inf")


def run(scale: str) -> dict[str, Any]:
    """Measure in already-prepared (test) databases and return the figures."""
    from customers.models import Customer, CustomerImport
    from customers.services import customer_create, customer_import_create, customer_import_run
    from tenancy.context import ORGANIZATION, context

    rows = SCALES[scale]["rows"]
    figures: dict[str, Any] = {"rows": rows, "seconds": {}, "rows_per_s": {}}

    baseline = _enterprise_org("Bench one by one")
    start = time.perf_counter()
    for n in range(rows):
        with context(org_id=baseline.id, role=ORGANIZATION, user_id=baseline.owner_id):
            customer_create(
                acting_user=baseline.owner,
                organization=baseline,
                name=f"Customer {n:06}",
                external_id=f"one-{n:06}",
                region=("us", "eu", "apac")[n % 3],
                labels={"env": "prod", "tier": f"t{n % 5}"},
                metadata={"crm_id": n, "segment": "smb"},
            )
    figures["seconds"]["one by one (baseline)"] = time.perf_counter() - start

    org = _enterprise_org("Bench import")
    data = _csv(rows, "imp")
    for attempt in ("first", "second"):
        start = time.perf_counter()
        with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
            job = customer_import_create(
                acting_user=org.owner, organization=org, filename="bench.csv", data=data
            )
            CustomerImport.objects.filter(id=job.id).update(status="queued")
        previewed = time.perf_counter()
        status = customer_import_run(org_id=org.id, import_id=job.id, acting_user_id=org.owner_id)
        finished = time.perf_counter()
        assert status == "done", status
        with context(org_id=org.id, role=ORGANIZATION):
            counts = CustomerImport.objects.get(id=job.id).counts
        expected = "created" if attempt == "first" else "unchanged"
        assert counts[expected] == rows, counts
        figures["seconds"][f"{attempt} import: preview"] = previewed - start
        figures["seconds"][f"{attempt} import: run"] = finished - previewed
        figures["seconds"][f"{attempt} import: total"] = finished - start
    with context(org_id=org.id, role=ORGANIZATION):
        assert Customer.objects.count() == rows
    for label, seconds in figures["seconds"].items():
        figures["rows_per_s"][label] = _rate(rows, seconds)
    figures["ratio"] = (
        figures["rows_per_s"]["first import: total"]
        / figures["rows_per_s"]["one by one (baseline)"]
    )
    return figures


def report(figures: dict[str, Any]) -> str:
    lines = [f"Import customers: {figures['rows']:,} new customers from one CSV file"]
    for label, seconds in figures["seconds"].items():
        rate = figures["rows_per_s"][label]
        lines.append(f"  {label:<26} {seconds:8.2f} s  {rate:8.0f} rows/s")
    lines.append(f"ratio import / one by one: {figures['ratio']:.2f}  (target >= 1)")
    return "\n".join(lines)


def main() -> int:
    return harness.main(
        __doc__,
        SCALES,
        "_importbench",
        lambda args: (report(run(args.scale)), 0),
        test_environment=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
