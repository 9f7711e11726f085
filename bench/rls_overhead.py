"""What row-level security costs on the busiest data-plane list (issue 3, SPEC §5).

The same page of a customer's execution log — ``ORDER BY created_at DESC LIMIT 50 OFFSET k`` for
several pages — is read

* as ``fastn_app`` under RLS, the customer's context set with ``set_config(…, true)`` in the
  transaction and its scope role entered (``fastn_app_customer``, ``tenancy.scope_roles``):
  the console's query (the scoped manager's WHERE) and, with no WHERE clause of its own, the
  policies alone picking the rows; and
* as a login that bypasses RLS, with an explicit ``WHERE customer_id = …``: a role created for
  the run with BYPASSRLS through ``DATABASE_BOOTSTRAP_URL`` (a superuser), or, when that is not
  configured, the owner login, whose ``owner_maintenance`` policy is ``USING (true)``.

Each page is timed many times, alternating the two logins; the medians are summed and the ratio
(RLS / baseline) is printed last. The plan under RLS must use the tenant index with an index
condition on ``customer_id``. Target (issue 15): ratio <= 1.05 at full scale.

Run: ``python bench/rls_overhead.py --scale full`` (``make bench``); the suite runs the smoke
scale. It creates throwaway databases (test databases with the suffix ``_rlsbench``), loads them
as the owner with ``generate_series`` and drops them at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench import _harness as harness

SCALES: dict[str, dict[str, Any]] = {
    "smoke": {"customers": 20, "rows": 20_000, "probes": 3, "runs": 5},
    "full": {"customers": 1_000, "rows": 1_000_000, "probes": 5, "runs": 41},
}
PAGE = 50
TENANT_INDEX = "dataplane_exec_cust_created"
BYPASS_ROLE = "fastn_bench_bypass"  # plus a random suffix: roles are cluster-wide
COLUMNS = "id, workflow_id, connection_id, source, status, started_at, duration_ms, created_at"
RLS_SQL = (
    f"SELECT {COLUMNS} FROM dataplane_executionlog "
    "ORDER BY created_at DESC LIMIT %(limit)s OFFSET %(offset)s"
)
BASELINE_SQL = (
    f"SELECT {COLUMNS} FROM dataplane_executionlog WHERE customer_id = %(customer)s "
    "ORDER BY created_at DESC LIMIT %(limit)s OFFSET %(offset)s"
)
# As tenancy.context writes a customer scope on a region database: the settings and the
# customer scope role (tenancy.scope_roles).
SET_CONTEXT_SQL = (
    "SELECT set_config('app.org_id', %(org)s, true), set_config('app.tenant_id', %(customer)s, "
    "true), set_config('app.role', 'customer', true), set_config('role', %(scope_role)s, true)"
)


@dataclass
class Variant:
    """One way of reading the page under RLS, timed against a baseline without RLS."""

    title: str
    baseline: str
    pages: dict[int, tuple[float, float]] = field(default_factory=dict)
    plan: str = ""

    @property
    def rls_ms(self) -> float:
        return sum(rls for rls, _ in self.pages.values())

    @property
    def baseline_ms(self) -> float:
        return sum(base for _, base in self.pages.values())

    @property
    def ratio(self) -> float:
        return self.rls_ms / self.baseline_ms

    @property
    def worst_page(self) -> float:
        return max(rls / base for rls, base in self.pages.values())


@dataclass
class Figures:
    customers: int
    rows: int
    baseline: str
    console: Variant
    policies_only: Variant
    # The console's query (all columns, WHERE org_id and customer_id) against the explicit-WHERE
    # baseline (eight columns, WHERE customer_id): how this benchmark compared until 2026-12-08.
    console_vs_explicit: float

    @property
    def ratio(self) -> float:
        return self.console.ratio

    @property
    def indexed(self) -> bool:
        """Both plans read the customer's index entries (an index leading with customer_id)."""
        return all(
            plan_uses_tenant_index(variant.plan, index=None)
            for variant in (self.console, self.policies_only)
        )


def plan_uses_tenant_index(plan: str, *, index: str | None = TENANT_INDEX) -> bool:
    """Does the plan scan an index with an index condition on customer_id (``index=None``:
    any index)?"""
    lines = plan.splitlines()
    for number, line in enumerate(lines):
        if "Index" in line and " on " in line and (index is None or index in line):
            conditions = [ln for ln in lines[number + 1 : number + 4] if "Index Cond" in ln]
            if any("customer_id" in condition for condition in conditions):
                return True
    return False


def region_aliases() -> tuple[str, str]:
    """(runtime, owner) aliases of the database the execution logs are loaded into."""
    from django.conf import settings

    from tenancy.context import region_alias

    region = settings.TENANCY_REGIONS[0]
    return region_alias(region), region_alias(region, login="owner")


def _raw(alias: str) -> Any:
    from django.db import connections

    connections[alias].ensure_connection()
    return connections[alias].connection


def load(customers: int, rows: int) -> list[tuple[str, str]]:
    """Bulk-load ``rows`` execution logs spread over ``customers`` customers of two
    organizations, as the owner; return the (org, customer) pairs."""
    _, owner = region_aliases()
    orgs = [str(uuid.uuid4()), str(uuid.uuid4())]
    pairs = [(orgs[i % 2], str(uuid.uuid4())) for i in range(customers)]
    connection = _raw(owner)
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO dataplane_executionlog (id, org_id, customer_id, created_at, source, "
            "status, started_at, finished_at, duration_ms, message) "
            "SELECT gen_random_uuid(), (%(orgs)s::uuid[])[1 + (g %% %(n)s) %% 2], "
            "(%(customers)s::uuid[])[1 + g %% %(n)s], "
            "now() - make_interval(secs => g), 'workflow', 'completed', "
            "now() - make_interval(secs => g), now() - make_interval(secs => g - 1), "
            "20 + g %% 900, 'run ' || g FROM generate_series(1, %(rows)s) g",
            {"orgs": orgs, "customers": [c for _, c in pairs], "n": customers, "rows": rows},
        )
    connection.execute("VACUUM ANALYZE dataplane_executionlog")
    return pairs


@contextmanager
def baseline_connection(bootstrap_url: str = "") -> Iterator[tuple[Any, str]]:
    """A connection that bypasses RLS, and a description of it.

    With ``bootstrap_url`` (a superuser: only superusers may grant BYPASSRLS) a throwaway login
    with BYPASSRLS is created for the run and dropped afterwards; without it the owner login
    serves, whose ``owner_maintenance`` policy is ``USING (true)``.
    """
    import psycopg
    from django.db import connections
    from psycopg import sql

    _, owner = region_aliases()
    if not bootstrap_url:
        yield _raw(owner), "owner login (its owner_maintenance policy is USING (true))"
        return
    role = f"{BYPASS_ROLE}_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(24)
    admin = psycopg.connect(bootstrap_url, autocommit=True)
    admin.execute(
        sql.SQL("CREATE ROLE {} LOGIN BYPASSRLS PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(password)
        )
    )
    owner_connection = _raw(owner)
    owner_connection.execute(
        sql.SQL("GRANT SELECT ON dataplane_executionlog TO {}").format(sql.Identifier(role))
    )
    # Django's own connection parameters (cursor class, adapters), so both sides of the
    # comparison fetch rows the same way.
    params = connections[owner].get_connection_params()
    try:
        bypass = psycopg.connect(**{**params, "user": role, "password": password}, autocommit=True)
        try:
            yield bypass, f"{role} (a BYPASSRLS login created for the run)"
        finally:
            bypass.close()
    finally:
        owner_connection.execute(
            sql.SQL("REVOKE ALL ON dataplane_executionlog FROM {}").format(sql.Identifier(role))
        )
        admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        admin.close()


def _timed(connection: Any, sql: str, params: Any, context: dict[str, Any] | None) -> float:
    with connection.transaction(), connection.cursor() as cursor:
        if context is not None:
            cursor.execute(SET_CONTEXT_SQL, context)
        start = time.perf_counter()
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        elapsed = time.perf_counter() - start
    assert len(rows) == PAGE, f"expected a full page, got {len(rows)}"
    return elapsed


def explain(connection: Any, sql: str, params: Any, context: dict[str, Any]) -> str:
    with connection.transaction(), connection.cursor() as cursor:
        cursor.execute(SET_CONTEXT_SQL, context)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def console_query(org: str, customer: str, offset: int) -> tuple[str, tuple[Any, ...]]:
    """The SQL the console sends for the page: the scoped manager adds the customer filter."""
    from django.conf import settings

    from dataplane.models import ExecutionLog
    from tenancy.context import context

    region = settings.TENANCY_REGIONS[0]
    with context(org_id=org, customer_id=customer, region=region):
        page = ExecutionLog.objects.order_by("-created_at")[offset : offset + PAGE]
        sql, params = page.query.sql_with_params()
    return sql, tuple(params)


def measure(scale: str, *, bootstrap_url: str = "") -> Figures:
    """Load the data into the current (test) databases and time the pages."""
    from tenancy.logins import logins

    settings = SCALES[scale]
    customers, rows = settings["customers"], settings["rows"]
    per_customer = rows // customers
    pairs = load(customers, rows)
    runtime, _ = region_aliases()
    app = _raw(runtime)
    probes = pairs[:: max(1, customers // settings["probes"])][: settings["probes"]]
    offsets = sorted({0, PAGE, per_customer // 2, per_customer - PAGE})
    console = Variant(
        "the console's query (the scoped manager adds WHERE org_id, customer_id)",
        "the same statement by the login that bypasses RLS",
    )
    policies = Variant(
        "the policies alone (no WHERE clause)",
        "the same columns with an explicit WHERE customer_id = …, bypassing RLS",
    )
    times: dict[tuple[str, int], list[float]] = {}
    scope_role = logins().customer_scope
    with baseline_connection(bootstrap_url) as (baseline, description):
        for run in range(settings["runs"] + 1):
            for org, customer in probes:
                ctx = {"org": org, "customer": customer, "scope_role": scope_role}
                for offset in offsets:
                    plain = {**ctx, "limit": PAGE, "offset": offset}
                    console_sql = console_query(org, customer, offset)
                    attempts = {
                        "console": (app, *console_sql, ctx),
                        "console baseline": (baseline, *console_sql, None),
                        "policies": (app, RLS_SQL, plain, ctx),
                        "baseline": (baseline, BASELINE_SQL, plain, None),
                    }
                    names = list(attempts) if run % 2 else list(reversed(attempts))
                    for name in names:
                        elapsed = _timed(*attempts[name])
                        if run:  # the first round only warms the caches
                            times.setdefault((name, offset), []).append(elapsed)

        def median_ms(name: str, offset: int) -> float:
            return statistics.median(times[(name, offset)]) * 1000

        for offset in offsets:
            console.pages[offset] = (
                median_ms("console", offset),
                median_ms("console baseline", offset),
            )
            policies.pages[offset] = (median_ms("policies", offset), median_ms("baseline", offset))
        console_vs_explicit = console.rls_ms / policies.baseline_ms
        org, customer = probes[0]
        ctx = {"org": org, "customer": customer, "scope_role": scope_role}
        last = offsets[-1]
        console.plan = explain(app, *console_query(org, customer, last), ctx)
        policies.plan = explain(app, RLS_SQL, {**ctx, "limit": PAGE, "offset": last}, ctx)
    return Figures(customers, rows, description, console, policies, console_vs_explicit)


def _table(variant: Variant) -> list[str]:
    lines = [
        f"under RLS: {variant.title}",
        f"  baseline: {variant.baseline}",
        "  page (OFFSET)   fastn_app under RLS   baseline   (median ms)",
    ]
    for offset, (rls, base) in variant.pages.items():
        lines.append(f"  {offset:>13}   {rls:>19.3f}   {base:>8.3f}")
    lines.append(f"  {'sum':>13}   {variant.rls_ms:>19.3f}   {variant.baseline_ms:>8.3f}")
    lines.append("  plan under RLS (last page):")
    lines += [f"    {line}" for line in variant.plan.splitlines()]
    return lines


def report(figures: Figures) -> str:
    lines = [
        f"execution-log rows: {figures.rows:,} over {figures.customers:,} customers "
        f"({figures.rows // figures.customers:,} each) of two organizations, one region database",
        f"login that bypasses RLS: {figures.baseline}",
        *_table(figures.policies_only),
        f"  index condition on customer_id: "
        f"{plan_uses_tenant_index(figures.policies_only.plan, index=None)}",
        f"  ratio with the policies alone: {figures.policies_only.ratio:.3f}",
        *_table(figures.console),
        f"  index condition on customer_id: "
        f"{plan_uses_tenant_index(figures.console.plan, index=None)}"
        f" ({TENANT_INDEX}: {plan_uses_tenant_index(figures.console.plan)})",
        f"  worst page: {figures.console.worst_page:.3f}  (target <= 1.10)",
        f"  against the explicit-WHERE baseline (eight columns, WHERE customer_id; this line's "
        f"baseline until 2026-12-08): {figures.console_vs_explicit:.3f}",
        f"ratio RLS / baseline (the console's query): {figures.ratio:.3f}  (target <= 1.05)",
    ]
    return "\n".join(lines)


def _measure(args: argparse.Namespace) -> tuple[str, int]:
    figures = measure(args.scale, bootstrap_url=os.environ.get("DATABASE_BOOTSTRAP_URL", ""))
    return report(figures), 0 if figures.indexed else 1


def main() -> int:
    return harness.main(__doc__, SCALES, "_rlsbench", _measure)


if __name__ == "__main__":
    raise SystemExit(main())
