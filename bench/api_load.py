"""API throughput under gunicorn and the cost of one rate-limit check (issue 9).

1. Starts gunicorn on a loopback port and drives it with a Python load generator (threads with
   keep-alive connections): a customer-scoped list endpoint (``GET /api/v1/connections`` with
   ``x-end-org-id``, a page of 50) against a minimal authenticated endpoint (``GET /api/v1/key``),
   alternating in the same run. Reports requests per second and p50/p99 of each, and the ratio
   list / minimal (target: p50 ratio <= 2).
2. The median of N in-process rate-limit checks (``api.ratelimit.check_and_count``) against real
   Redis (target: <= 1 ms at N = 10,000).
3. The query plan of the list endpoint's query: it must use the tenant (customer) index.

Run: ``python -m bench.api_load --scale full`` (``make bench``); the suite runs the smoke scale
inside its own test databases. Standalone, it creates throwaway test databases (suffix
``_bench_api``) and drops them at the end.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import _harness as harness

REPO = Path(__file__).resolve().parent.parent
SCALES: dict[str, dict[str, Any]] = {
    "smoke": {
        "customers": 20,
        "connections": 50,
        "phase_seconds": 1.0,
        "rounds": 1,
        "threads": 4,
        "checks": 1_000,
    },
    "full": {
        "customers": 500,
        "connections": 100,
        "phase_seconds": 8.0,
        "rounds": 2,
        "threads": 8,
        "checks": 10_000,
    },
}
LIST_PATH = "/api/v1/connections?limit=50"
MINIMAL_PATH = "/api/v1/key"


@dataclass
class Prepared:
    org_id: uuid.UUID
    customer_id: uuid.UUID
    key: str


def _load_connections(org_id: uuid.UUID, customer_ids: list[uuid.UUID], per_customer: int) -> None:
    from django.db import connections

    from tenancy.context import region_alias

    with connections[region_alias("us", login="owner")].cursor() as cursor:
        cursor.execute(
            "INSERT INTO dataplane_connection (id, org_id, customer_id, connector_id, name, "
            "status, credentials, created_at) "
            "SELECT gen_random_uuid(), %s, c, gen_random_uuid(), 'Connection ' || g, 'active', "
            "'', now() FROM unnest(%s::uuid[]) c, generate_series(1, %s) g",
            [str(org_id), [str(c) for c in customer_ids], per_customer],
        )
        cursor.execute("ANALYZE dataplane_connection")


def prepare(customers: int, per_customer: int) -> Prepared:
    """An Enterprise organization, its customers in the US region with connections, and a key;
    the bench customer's rate limits are raised so the load is never refused."""
    from customers.models import CustomerLimitOverride
    from tenancy.context import ORGANIZATION, context
    from tests.api.conftest import make_key
    from tests.factories import make_customer, make_org

    org = make_org("Bench API", plan_code="enterprise")
    made = [make_customer(org, f"Bench customer {n}", region="us") for n in range(customers)]
    _load_connections(org.id, [c.id for c in made], per_customer)
    target = made[0]
    with context(org_id=org.id, role=ORGANIZATION):
        for key, value in (("api_calls_per_minute", 200_000), ("api_calls_per_day", 20_000_000)):
            CustomerLimitOverride.objects.create(
                org=org, customer_id=target.id, limit_key=key, value=value
            )
    return Prepared(org.id, target.id, make_key(org, "viewer", name="bench"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(env: dict[str, str], workers: int = 2) -> Iterator[int]:
    """gunicorn serving the project on a free loopback port, stopped by its pid afterwards.

    Its output goes to a temporary file, never to a pipe: every request writes a log line, and
    a pipe nobody reads fills after 64 KB and blocks every worker in the middle of a request.
    """
    from tests.conftest import stop_process

    port = _free_port()
    output = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "fastn_console.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                output.seek(0)
                raise RuntimeError(f"gunicorn exited: {output.read().decode()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/api/v1/openapi.json")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer within 60 s")
            time.sleep(0.2)
        yield port
    finally:
        stop_process(process)
        output.close()


@dataclass
class PhaseResult:
    latencies: list[float]
    seconds: float
    errors: int
    # "<status> <path>" (status "none": no answer) -> how many requests ended so.
    refused: Counter[str] = field(default_factory=Counter)


Request = tuple[str, dict[str, str]]  # a GET: path and headers


def _drive(port: int, mix: list[Request], seconds: float, threads: int) -> PhaseResult:
    """``threads`` clients, each with a keep-alive connection, GET the requests of ``mix`` in
    turn (each client starting at another one) for ``seconds``."""
    latencies: list[float] = []
    errors = [0]
    refused: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(first: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        failed: Counter[str] = Counter()
        turn = first
        while turn == first or time.perf_counter() < deadline:  # one request at least
            path, headers = mix[turn % len(mix)]
            turn += 1
            start = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
            except OSError:  # no answer within the client's timeout, or the connection dropped
                mine.append(time.perf_counter() - start)
                failed[f"none {path}"] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            mine.append(time.perf_counter() - start)
            if response.status != 200:
                failed[f"{response.status} {path}"] += 1
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed.total()
            refused.update(failed)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return PhaseResult(latencies, time.perf_counter() - started, errors[0], refused)


def http_load(prepared: Prepared, env: dict[str, str], params: dict[str, Any]) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {prepared.key}", "x-end-org-id": str(prepared.customer_id)}
    results: dict[str, list[PhaseResult]] = {"minimal": [], "list": []}
    with gunicorn(env) as port:
        _drive(port, [(MINIMAL_PATH, headers)], 0.5, 2)  # warm up both workers
        _drive(port, [(LIST_PATH, headers)], 0.5, 2)
        for _ in range(params["rounds"]):
            for name, path in (("minimal", MINIMAL_PATH), ("list", LIST_PATH)):
                results[name].append(
                    _drive(port, [(path, headers)], params["phase_seconds"], params["threads"])
                )
    figures: dict[str, float] = {}
    for name, phases in results.items():
        latencies = [value for phase in phases for value in phase.latencies]
        errors = sum(phase.errors for phase in phases)
        if errors:
            raise RuntimeError(f"{errors} {name} requests did not answer 200")
        figures[f"{name}_rps"] = len(latencies) / sum(phase.seconds for phase in phases)
        figures[f"{name}_p50_ms"] = statistics.median(latencies) * 1000
        figures[f"{name}_p99_ms"] = harness.percentile(latencies, 0.99) * 1000
        figures[f"{name}_requests"] = len(latencies)
    figures["p50_ratio"] = figures["list_p50_ms"] / figures["minimal_p50_ms"]
    figures["rps_ratio"] = figures["minimal_rps"] / figures["list_rps"]
    return figures


def ratelimit_checks(count: int) -> dict[str, float]:
    """Median and p99 of ``count`` check-and-count calls against the configured Redis."""
    from api import ratelimit

    org_id, customer_id = uuid.uuid4(), uuid.uuid4()
    limits = {"api_calls_per_minute": 10**9, "api_calls_per_day": 10**9}
    conn = ratelimit.client()
    conn.ping()
    timings = harness.timings(
        lambda: ratelimit.check_and_count(
            org_id=org_id, customer_id=customer_id, amounts={"api_call": 1}, limits=limits
        ),
        count,
    )
    conn.delete(ratelimit.usage_hash_key(org_id))
    conn.srem(ratelimit.usage_dirty_key(), str(org_id))
    return {
        "checks": count,
        "check_median_ms": statistics.median(timings) * 1000,
        "check_p99_ms": harness.percentile(timings, 0.99) * 1000,
    }


def list_query_plan(prepared: Prepared) -> str:
    from dataplane.models import Connection
    from tenancy.context import ORGANIZATION, context

    with context(org_id=prepared.org_id, customer_id=prepared.customer_id, role=ORGANIZATION):
        return str(Connection.objects.order_by("name", "id")[:50].explain())


def run(scale: str) -> dict[str, Any]:
    """Every measurement, in already-prepared (test) databases whose data gunicorn can see."""
    from tests.conftest import test_database_environment

    params = SCALES[scale]
    prepared = prepare(params["customers"], params["connections"])
    env = {**os.environ, **test_database_environment()}
    env.pop("FASTN_TEST_DB_SUFFIX", None)
    # Persistent connections, as in production (docs/SCALING.md): each request then pays for
    # its queries, not for opening a connection to every database it touches.
    env.setdefault("DATABASE_CONN_MAX_AGE", "60")
    figures: dict[str, Any] = {"scale": scale, **params}
    figures.update(http_load(prepared, env, params))
    figures.update(ratelimit_checks(params["checks"]))
    figures["plan"] = list_query_plan(prepared)
    # Django's index on customer_id or the UNIQUE (customer_id, id) one: both lead with the tenant.
    figures["plan_uses_tenant_index"] = " on dataplane_connection_customer_id" in figures["plan"]
    return figures


def report(figures: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"API under gunicorn (2 workers), {figures['threads']} client threads, "
            f"{figures['customers']} customers x {figures['connections']} connections",
            f"  minimal  GET /api/v1/key          {figures['minimal_rps']:8.0f} req/s  "
            f"p50 {figures['minimal_p50_ms']:6.2f} ms  p99 {figures['minimal_p99_ms']:6.2f} ms",
            f"  list     GET /api/v1/connections  {figures['list_rps']:8.0f} req/s  "
            f"p50 {figures['list_p50_ms']:6.2f} ms  p99 {figures['list_p99_ms']:6.2f} ms",
            f"  ratio list/minimal: p50 {figures['p50_ratio']:.2f}, throughput "
            f"{figures['rps_ratio']:.2f}  (target <= 2)",
            f"rate-limit check, {figures['checks']:,} in-process calls against Redis: median "
            f"{figures['check_median_ms']:.3f} ms, p99 {figures['check_p99_ms']:.3f} ms "
            "(target median <= 1 ms)",
            f"list query uses the tenant index: {figures['plan_uses_tenant_index']}",
        ]
    )


def main() -> int:
    return harness.main(__doc__, SCALES, "_bench_api", lambda args: (report(run(args.scale)), 0))


if __name__ == "__main__":
    raise SystemExit(main())
