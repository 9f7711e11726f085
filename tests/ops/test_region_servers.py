"""Each region's database on a PostgreSQL server of its own (SPEC §6, §15).

Four fresh embedded servers: the main database on one, each region's on its own. ``manage.py
db_bootstrap`` and ``migrate`` set them up from the region URLs as an operator would (the EU and
US servers have superusers of their own, named in ``REGION_BOOTSTRAP_URLS``; the APAC server
shares the main one's, which ``DATABASE_BOOTSTRAP_URL`` reaches). Then a customer's rows are
looked for on every server, and the residency suite (tests/residency) runs in a pytest of its
own against this configuration.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.ops.servers import LOGINS, REGIONS, Installation, PostgresServer, postgres_servers

TEST_SUFFIX = "_regionservers"


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[dict[str, PostgresServer], Installation]]:
    with postgres_servers(["main", *REGIONS], sharing_the_first_superuser=["apac"]) as servers:
        installation = Installation(
            servers["main"], {region: servers[region] for region in REGIONS}
        )
        installation.manage("db_bootstrap")
        yield servers, installation


# Run inside a Django process of the installation (Installation.call).


def create_customer_per_region() -> str:
    """One organization with a customer in every region, each with data-plane rows."""
    from tests.factories import make_customer, make_customer_data, make_org

    org = make_org("Regions Org")
    ids = {}
    for region in REGIONS:
        customer = make_customer(org, f"Customer in {region}", region=region)
        make_customer_data(org, customer)
        ids[region] = str(customer.id)
    return json.dumps(ids)


def _customer_rows(conn: psycopg.Connection[Any], customer_ids: list[str]) -> dict[str, int]:
    """Rows per customer over every table with a ``customer_id`` (as the superuser: no RLS)."""
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'customer_id'"
        )
    ]
    rows = dict.fromkeys(customer_ids, 0)
    for table in tables:
        for customer_id, count in conn.execute(
            f'SELECT customer_id::text, count(*) FROM "{table}" '
            "WHERE customer_id = ANY(%s::uuid[]) GROUP BY 1",
            [customer_ids],
        ):
            rows[customer_id] += count
    return rows


def _tables(conn: psycopg.Connection[Any]) -> set[str]:
    return {
        row[0]
        for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }


def test_bootstrap_puts_each_region_database_and_the_three_logins_on_its_own_server(
    cluster: tuple[dict[str, PostgresServer], Installation],
) -> None:
    servers, installation = cluster
    assert servers["main"].databases() == {"postgres", installation.database}
    for region in REGIONS:
        assert servers[region].databases() == {"postgres", installation.region_database(region)}
    for server in servers.values():
        with server.connect() as conn:
            found = conn.execute(
                "SELECT rolname, rolsuper, rolbypassrls, rolcreatedb FROM pg_roles "
                "WHERE rolname = ANY(%s) ORDER BY 1",
                [list(LOGINS)],
            ).fetchall()
        assert found == [
            ("fastn_app", False, False, False),
            ("fastn_owner", False, False, True),
            ("fastn_platform", False, False, False),
        ], server.name


def test_a_customer_s_rows_live_only_on_its_region_s_server(
    cluster: tuple[dict[str, PostgresServer], Installation],
) -> None:
    servers, installation = cluster
    installation.manage("migrate")
    installation.manage("check", *(f"--database={alias}" for alias in ("default", *REGIONS)))

    customers = json.loads(
        installation.call("tests.ops.test_region_servers:create_customer_per_region")
    )
    ids = list(customers.values())

    with servers["main"].connect(installation.database) as conn:
        main_tables = _tables(conn)
        assert "customers_customer" in main_tables
        assert not {t for t in main_tables if t.startswith("dataplane_")}
        customer_rows = conn.execute(
            "SELECT id::text, region FROM customers_customer WHERE id = ANY(%s::uuid[])", [ids]
        ).fetchall()
        assert dict(customer_rows) == {
            customer_id: region for region, customer_id in customers.items()
        }
    for region in REGIONS:
        with servers[region].connect(installation.region_database(region)) as conn:
            tables = _tables(conn)
            assert "dataplane_connection" in tables and "customers_customer" not in tables
            rows = _customer_rows(conn, ids)
        for owner_region, customer_id in customers.items():
            if owner_region == region:
                assert rows[customer_id] > 0, f"{owner_region}'s customer has no rows on its server"
            else:
                assert rows[customer_id] == 0, (
                    f"{owner_region}'s customer has {rows[customer_id]} rows on the {region} server"
                )


def test_the_residency_suite_passes_with_each_region_on_its_own_server(
    cluster: tuple[dict[str, PostgresServer], Installation],
) -> None:
    servers, installation = cluster
    result = installation.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            # Keeps the test databases, so where they lived can be checked below.
            "--reuse-db",
            "tests/residency",
        ],
        timeout=540,
        FASTN_TEST_DB_SUFFIX=TEST_SUFFIX,
        # Inside, a skip would hide a residency test that did not run: make it a failure.
        FASTN_REQUIRE_ALL="1",
    )
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary, result.stdout[-3000:]

    test_database = f"test_{installation.database}{TEST_SUFFIX}"
    assert test_database in servers["main"].databases()
    for region in REGIONS:
        region_test_database = f"test_{installation.region_database(region)}{TEST_SUFFIX}"
        assert region_test_database in servers[region].databases()
        for other, server in servers.items():
            if other != region:
                assert region_test_database not in server.databases(), other
