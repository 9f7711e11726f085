"""An experiment for issue 15's RLS design, not part of ``make bench``: policies ``TO`` a NOLOGIN
role per kind of scope, entered with ``set_config('role', …, true)`` (``SET LOCAL ROLE``) in the
same statement that sets the tenant, against today's policy shape and an explicit WHERE.

On a scratch database (its own, dropped at the end) one table shaped like
``dataplane_executionlog``'s hot columns, with its tenant index, holds ``--rows`` rows over 1,000
customers of two organizations. Four readers page through one customer's rows (``ORDER BY
created_at DESC LIMIT 50 OFFSET …``, pages 0, 1, 10 and 19, five customers, medians of
``--runs``):

* ``or-policy``: a login with today's policies (``org_id = org`` permissive, and the restrictive
  ``customer_id = tenant OR org_id = organization-wide org``);
* ``role, org and customer``: a NOINHERIT login that enters a NOLOGIN scope role whose policy is
  ``org_id = org AND customer_id = tenant``;
* ``role, customer only``: the same with the plain equality ``customer_id = tenant``;
* the baseline: a superuser (RLS bypassed) with ``WHERE customer_id = …``.

Without a role entered, the NOINHERIT login reads nothing (no grant, no policy applies).

Run: ``DATABASE_BOOTSTRAP_URL=postgres://postgres@127.0.0.1:5432/postgres
python -m bench._rls_roles_experiment --rows 1000000``. Figures: docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import time
import uuid
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

ORG = "(SELECT NULLIF(current_setting('app.org_id', true), '')::uuid)"
TENANT = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
ORG_WIDE = (
    "(SELECT CASE WHEN NULLIF(current_setting('app.tenant_id', true), '') IS NULL "
    "AND current_setting('app.role', true) = 'organization' "
    "THEN NULLIF(current_setting('app.org_id', true), '')::uuid END)"
)
COLUMNS = "id, source, status, duration_ms, created_at"
POLICY_SQL = f"SELECT {COLUMNS} FROM t ORDER BY created_at DESC LIMIT 50 OFFSET %s"
BASELINE_SQL = (
    f"SELECT {COLUMNS} FROM t WHERE customer_id = %s ORDER BY created_at DESC LIMIT 50 OFFSET %s"
)
PAGES = (0, 1, 10, 19)
CUSTOMERS = 1_000


def _url(base: str, database: str, user: str | None = None) -> str:
    """``base`` (a superuser's URL) for ``database``, as ``user`` (password ``x``) if given."""
    extra = {"user": user, "password": "x"} if user else {}
    return make_conninfo(base, dbname=database, **extra)


def _reads_nothing_without_a_role(url: str) -> bool:
    """The NOINHERIT login, no scope role entered, is refused the table."""
    with psycopg.connect(url) as connection:
        try:
            connection.execute("SELECT 1 FROM t LIMIT 1")
        except psycopg.errors.InsufficientPrivilege:
            return True
    return False


def _load(connection: Any, rows: int) -> list[tuple[str, str]]:
    orgs = [str(uuid.uuid4()), str(uuid.uuid4())]
    customers = [str(uuid.uuid4()) for _ in range(CUSTOMERS)]
    connection.execute(
        "CREATE TABLE t (id uuid PRIMARY KEY, org_id uuid NOT NULL, customer_id uuid NOT NULL, "
        "created_at timestamptz NOT NULL, source text, status text, duration_ms int, message text)"
    )
    connection.execute("CREATE INDEX t_cust_created ON t (customer_id, created_at DESC)")
    connection.execute("CREATE INDEX t_org ON t (org_id)")
    connection.execute(
        "INSERT INTO t SELECT gen_random_uuid(), (%(o)s::uuid[])[1 + (g %% %(n)s) %% 2], "
        "(%(c)s::uuid[])[1 + g %% %(n)s], now() - make_interval(secs => g), 'workflow', "
        "'completed', 20 + g %% 900, 'run ' || g FROM generate_series(1, %(rows)s) g",
        {"o": orgs, "c": customers, "n": CUSTOMERS, "rows": rows},
    )
    connection.execute("VACUUM ANALYZE t")
    return [(orgs[i % 2], customers[i]) for i in (1, 250, 500, 750, 999)]


def _policies(connection: Any, old: str, scope: str, scope_customer: str) -> None:
    connection.execute("ALTER TABLE t ENABLE ROW LEVEL SECURITY")
    connection.execute(f"GRANT SELECT ON t TO {old}, {scope}, {scope_customer}")
    connection.execute(f"CREATE POLICY o1 ON t FOR ALL TO {old} USING (org_id = {ORG})")
    connection.execute(
        f"CREATE POLICY o2 ON t AS RESTRICTIVE FOR ALL TO {old} "
        f"USING (customer_id = {TENANT} OR org_id = {ORG_WIDE})"
    )
    connection.execute(
        f"CREATE POLICY r1 ON t FOR ALL TO {scope} USING (org_id = {ORG} AND customer_id = {TENANT})"
    )
    connection.execute(
        f"CREATE POLICY r2 ON t FOR ALL TO {scope_customer} USING (customer_id = {TENANT})"
    )


def _timed(
    connection: Any, enter: str | None, params: tuple[str, ...], sql: str, args: Any
) -> float:
    with connection.transaction(), connection.cursor() as cursor:
        if enter is not None:
            cursor.execute(enter, params)
        start = time.perf_counter()
        cursor.execute(sql, args)
        cursor.fetchall()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=31)
    options = parser.parse_args()
    admin_url = os.environ["DATABASE_BOOTSTRAP_URL"]
    suffix = secrets.token_hex(3)
    database = f"rls_roles_{suffix}"
    old, login = f"rls_or_{suffix}", f"rls_login_{suffix}"
    scope, scope_customer = f"rls_scope_{suffix}", f"rls_scope_customer_{suffix}"
    admin = psycopg.connect(admin_url, autocommit=True)
    admin.execute(f"CREATE DATABASE {database}")
    for role in (old, login):
        admin.execute(f"CREATE ROLE {role} LOGIN NOINHERIT PASSWORD 'x'")
    for role in (scope, scope_customer):
        admin.execute(f"CREATE ROLE {role} NOLOGIN")
        admin.execute(f"GRANT {role} TO {login}")
    try:
        superuser = psycopg.connect(_url(admin_url, database), autocommit=True)
        probes = _load(superuser, options.rows)
        _policies(superuser, old, scope, scope_customer)
        readers = {
            "or-policy": (
                psycopg.connect(_url(admin_url, database, old)),
                "SELECT set_config('app.org_id', %s, true), set_config('app.tenant_id', %s, "
                "true), set_config('app.role', 'organization', true)",
            ),
            "role, org and customer": (
                psycopg.connect(_url(admin_url, database, login)),
                f"SELECT set_config('role', '{scope}', true), set_config('app.org_id', %s, true), "
                "set_config('app.tenant_id', %s, true)",
            ),
            "role, customer only": (
                psycopg.connect(_url(admin_url, database, login)),
                f"SELECT set_config('role', '{scope_customer}', true), "
                "set_config('app.org_id', %s, true), set_config('app.tenant_id', %s, true)",
            ),
        }
        print(
            "login without a role reads nothing: "
            f"{_reads_nothing_without_a_role(_url(admin_url, database, login))}"
        )
        baseline = psycopg.connect(_url(admin_url, database))
        totals = dict.fromkeys([*readers, "baseline"], 0.0)
        for page in PAGES:
            per_page = dict.fromkeys(totals, 0.0)
            for org, customer in probes:
                samples: dict[str, list[float]] = {name: [] for name in totals}
                for _ in range(options.runs):
                    for name, (connection, enter) in readers.items():
                        samples[name].append(
                            _timed(connection, enter, (org, customer), POLICY_SQL, (page * 50,))
                        )
                    samples["baseline"].append(
                        _timed(baseline, None, (), BASELINE_SQL, (customer, page * 50))
                    )
                for name in totals:
                    per_page[name] += statistics.median(samples[name]) * 1000
            for name in totals:
                totals[name] += per_page[name]
            ratios = ", ".join(
                f"{name} {per_page[name] / per_page['baseline']:.2f}" for name in readers
            )
            print(f"page {page}: baseline {per_page['baseline']:.2f} ms; ratios {ratios}")
        for name in readers:
            print(f"ratio {name} / baseline (four pages): {totals[name] / totals['baseline']:.2f}")
        for connection, _ in readers.values():
            connection.close()
        baseline.close()
        superuser.close()
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        for role in (old, login, scope, scope_customer):
            admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.close()


if __name__ == "__main__":
    main()
