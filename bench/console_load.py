"""The console under concurrent load (issue 15, target 6).

Starts gunicorn as ``make run`` does (two workers per core plus one) on a loopback port and keeps
24 requests in flight: client threads with keep-alive connections, each taking the requests of a
mixed workload in turn — console pages signed in as the Owner (Overview, Customers, a customer's
page, Roles, People, Billing) and customer-scoped API calls (connections, executions). A
baseline phase in the same run drives the minimal authenticated API endpoint (``GET
/api/v1/key``) at the same concurrency. Reports p50/p95 of both and the ratio of the p95s
(target: mixed p95 <= 300 ms on a 2-core machine).

Run: ``python -m bench.console_load --scale full`` (``make bench``); the suite runs the smoke
scale inside its own test databases (tests/ops/test_bench_smoke.py). Standalone, it creates
throwaway test databases (suffix ``_bench_console``) and drops them at the end.
"""

from __future__ import annotations

import importlib
import os
import statistics
import sys
from collections import Counter
from typing import Any

from bench import _harness as harness
from bench.api_load import Prepared, Request, _drive, gunicorn, prepare

SCALES: dict[str, dict[str, Any]] = {
    "smoke": {"customers": 10, "connections": 20, "phase_seconds": 1.0, "rounds": 1, "threads": 8},
    "full": {"customers": 300, "connections": 50, "phase_seconds": 8.0, "rounds": 3, "threads": 24},
}
TARGET_P95_MS = 300


def _workload(prepared: Prepared) -> tuple[list[Request], list[Request]]:
    """The mixed requests and the baseline's, with the Owner's session cookie and the key."""
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from customers.models import Organization

    organization = Organization.objects.get(id=prepared.org_id)
    browser = Client()
    browser.force_login(organization.owner)
    cookie = {
        "Cookie": f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    }
    org = {"org_slug": organization.slug}
    pages = [
        reverse("customers:home", kwargs=org),
        reverse("customers:customer_list", kwargs=org),
        reverse("customers:customer_detail", kwargs={**org, "customer_id": prepared.customer_id}),
        reverse("roles:role_list", kwargs=org),
        reverse("roles:people", kwargs=org),
        reverse("billing:overview", kwargs=org),
    ]
    api = {"Authorization": f"Bearer {prepared.key}", "x-end-org-id": str(prepared.customer_id)}
    mixed: list[Request] = [(page, cookie) for page in pages]
    mixed += [("/api/v1/connections?limit=50", api), ("/api/v1/executions?limit=50", api)]
    return mixed, [("/api/v1/key", api)]


def production_workers() -> int:
    """The gunicorn workers ``make run`` starts on this machine (scripts/devstack.py, which
    finds its sibling modules on ``sys.path``)."""
    scripts = str(harness.REPO / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    return int(importlib.import_module("devstack").web_workers())


def load(prepared: Prepared, env: dict[str, str], params: dict[str, Any]) -> dict[str, Any]:
    mixed, baseline = _workload(prepared)
    workers = production_workers()
    phases: dict[str, list[Any]] = {"baseline": [], "mixed": []}
    with gunicorn(env, workers=workers) as port:
        _drive(port, mixed, 1.0, workers)  # every worker has loaded the code and its connections
        for _ in range(params["rounds"]):
            for name, mix in (("baseline", baseline), ("mixed", mixed)):
                phases[name].append(_drive(port, mix, params["phase_seconds"], params["threads"]))
    figures: dict[str, Any] = {"workers": workers, "mixed_requests_kinds": len(mixed)}
    for name, results in phases.items():
        # Requests that did not answer 200 within the client's 10 s count with the time waited.
        figures[f"{name}_failed"] = sum(result.errors for result in results)
        figures[f"{name}_refused"] = dict(sum((result.refused for result in results), Counter()))
        p95s = [harness.percentile(result.latencies, 0.95) * 1000 for result in results]
        latencies = [value for result in results for value in result.latencies]
        figures[f"{name}_requests"] = len(latencies)
        figures[f"{name}_p50_ms"] = statistics.median(latencies) * 1000
        figures[f"{name}_p95_ms"] = statistics.median(p95s)  # the median of the rounds' p95
    figures["p95_ratio"] = figures["mixed_p95_ms"] / figures["baseline_p95_ms"]
    return figures


def run(scale: str) -> dict[str, Any]:
    from tests.conftest import test_database_environment

    params = SCALES[scale]
    prepared = prepare(params["customers"], params["connections"])
    env = {**os.environ, **test_database_environment(), "AXES_ENABLED": "false"}
    env.pop("FASTN_TEST_DB_SUFFIX", None)
    env.setdefault("DATABASE_CONN_MAX_AGE", "60")  # persistent connections, as in production
    return {"scale": scale, **params, **load(prepared, env, params)}


def report(figures: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"console under gunicorn ({figures['workers']} workers), {figures['threads']} requests "
            f"in flight, {figures['customers']} customers; median of {figures['rounds']} rounds",
            f"  baseline GET /api/v1/key  {figures['baseline_requests']:6d} requests  p50 "
            f"{figures['baseline_p50_ms']:7.1f} ms  p95 {figures['baseline_p95_ms']:7.1f} ms",
            f"  mixed ({figures['mixed_requests_kinds']} kinds: pages + API) "
            f"{figures['mixed_requests']:6d} requests  p50 {figures['mixed_p50_ms']:7.1f} ms  "
            f"p95 {figures['mixed_p95_ms']:7.1f} ms",
            f"  requests without a 200 within 10 s: baseline {figures['baseline_failed']}, "
            f"mixed {figures['mixed_failed']}",
            *(
                f"    {count:6d} x {what}"
                for phase in ("baseline", "mixed")
                for what, count in sorted(figures[f"{phase}_refused"].items())
            ),
            f"mixed console and API p95: {figures['mixed_p95_ms']:.0f} ms "
            f"(target <= {TARGET_P95_MS} ms); ratio mixed / baseline p95: {figures['p95_ratio']:.2f}",
        ]
    )


def main() -> int:
    return harness.main(
        __doc__, SCALES, "_bench_console", lambda args: (report(run(args.scale)), 0)
    )


if __name__ == "__main__":
    raise SystemExit(main())
