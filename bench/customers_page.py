"""Settings → Customers at scale (issue 5): constant queries, time against a minimal page.

An organization with N customers spread over three regions (each with a connection) is loaded as
the owner. Through Django's test client, as the organization's Owner, the benchmark times

* the customer list (first page and a later page, with region-aware connection counts),
* a search by name and a search by full customer ID,
* a minimal authenticated page (the password-change form: layout and session only),

and reports medians and the ratio list / minimal page. Target: <= 3x at full scale (10,000
customers). It also counts the queries of each customer page at N and at 30 customers: they must
be equal (a constant number, independent of the organization's size).

Run: ``python -m bench.customers_page --scale full`` (``make bench``); the suite runs ``--scale
smoke``. It creates throwaway test databases (suffix ``_custbench``) and drops them at the end.
"""

from __future__ import annotations

import uuid
from typing import Any

from bench import _harness as harness

SCALES: dict[str, dict[str, int]] = {
    "smoke": {"customers": 300, "runs": 5},
    "full": {"customers": 10_000, "runs": 31},
}
REGIONS = ["us", "eu", "apac"]


def _load(org_id: uuid.UUID, count: int) -> None:
    """Customers as the owner login, then one connection each in its region's database, and
    the tables' statistics."""
    from django.db import connections

    from tenancy.context import region_alias

    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "INSERT INTO customers_customer (id, org_id, name, slug, external_id, status, region, "
            "created_at) SELECT gen_random_uuid(), %s, 'Customer ' || lpad(g::text, 6, '0'), "
            "'customer-' || g, 'ext-' || g, 'active', (%s::text[])[1 + g %% 3], now() "
            "FROM generate_series(1, %s) g",
            [str(org_id), REGIONS, count],
        )
        cursor.execute("SELECT id, region FROM customers_customer WHERE org_id = %s", [str(org_id)])
        by_region: dict[str, list[str]] = {}
        for customer_id, region in cursor.fetchall():
            by_region.setdefault(region, []).append(str(customer_id))
        cursor.execute("ANALYZE customers_customer")
    connector = str(uuid.uuid4())
    for region, ids in by_region.items():
        with connections[region_alias(region, login="owner")].cursor() as cursor:
            cursor.execute(
                "INSERT INTO dataplane_connection (id, org_id, customer_id, connector_id, name, "
                "status, credentials, created_at) SELECT gen_random_uuid(), %s, c::uuid, %s, "
                "'Slack', 'active', '', now() FROM unnest(%s::text[]) c",
                [str(org_id), connector, ids],
            )
            # The statistics autovacuum keeps in a running installation; without them the
            # planner takes a freshly loaded table for empty and filters the organization's rows.
            cursor.execute("ANALYZE dataplane_connection")


def _queries(client: Any, url: str) -> int:
    """Round trips the request makes to the database servers (messages in libpq's protocol
    trace: a BEGIN, a COMMIT and a query carrying its tenant settings count one each)."""
    from tests.wire import traced

    with traced() as wire:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    return wire.round_trips()


def run(scale: str) -> dict[str, Any]:
    """Measure in already-prepared (test) databases and return the figures."""
    from django.test import Client

    from customers.models import Customer
    from tenancy.context import ORGANIZATION, context
    from tests.factories import make_org

    params = SCALES[scale]
    small, large = make_org("Bench small"), make_org("Bench large")
    _load(small.id, 30)
    _load(large.id, params["customers"])
    with context(org_id=large.id, role=ORGANIZATION):
        some_id = str(Customer.objects.order_by("name")[params["customers"] // 2].id)

    pages = {
        "list": "settings/customers/",
        "list page 3": "settings/customers/?page=3",
        "search by name": "settings/customers/?q=Customer%2000001",
        "search by ID": "settings/customers/?q=",
    }
    figures: dict[str, Any] = {"customers": params["customers"], "queries": {}, "ms": {}}
    clients = {}
    for org in (small, large):
        client = Client()
        client.force_login(org.owner)
        clients[org.id] = client
    for label, path in pages.items():
        path = path + some_id if label == "search by ID" else path
        counts = [_queries(clients[org.id], f"/o/{org.slug}/{path}") for org in (small, large)]
        if label == "search by ID":
            counts[0] = counts[1]  # the ID belongs to the large organization only
        figures["queries"][label] = counts
    client = clients[large.id]
    urls = {"minimal page": "/accounts/password/change/"}
    for label, path in pages.items():
        urls[label] = f"/o/{large.slug}/{path + some_id if label == 'search by ID' else path}"
    figures["ms"] = harness.page_medians_ms(client, urls, params["runs"])
    figures["ratio"] = figures["ms"]["list"] / figures["ms"]["minimal page"]
    return figures


def report(figures: dict) -> str:
    lines = [f"Settings → Customers with {figures['customers']:,} customers in three regions"]
    for label, (small, large) in figures["queries"].items():
        lines.append(f"  {label:<16} queries: {large} (30 customers: {small})")
    for label, ms in figures["ms"].items():
        lines.append(f"  {label:<16} {ms:8.2f} ms (median)")
    lines.append(f"list queries: {figures['queries']['list'][1]}  (target <= 12)")
    lines.append(f"ratio list / minimal page: {figures['ratio']:.2f}  (target <= 2)")
    return "\n".join(lines)


def main() -> int:
    return harness.main(
        __doc__,
        SCALES,
        "_custbench",
        lambda args: (report(run(args.scale)), 0),
        test_environment=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
