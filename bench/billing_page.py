"""Settings → Billing with usage over time (issue 17): constant queries, time against a minimal
page.

An organization with N customers (spread over three regions) and 90
days of daily usage for every one of them (events and API calls: N × 90 × 2 ``UsageRecord``
rows, as the usage flush writes them) is loaded. Through Django's test client, as the
organization's Owner, the benchmark times

* the Billing page (30-day charts of the whole organization, top customers, today's usage),
* the same over 90 days,
* over 90 days with one customer charted against its limits (``?customer=``),
* a minimal authenticated page (the password-change form: layout and session only),

and reports medians and the ratio Billing / minimal page. It also counts the queries of each
Billing page with N customers and with 30 customers and 30 days of usage: they must be equal
(a constant number, independent of the organization's size and of the period).

Run: ``python -m bench.billing_page --scale full`` (``make bench``); the suite runs ``--scale
smoke``. It creates throwaway test databases (suffix ``_billbench``) and drops them at the end.
"""

from __future__ import annotations

import uuid
from typing import Any

from bench import _harness as harness
from bench.customers_page import _queries as request_queries

SCALES: dict[str, dict[str, int]] = {
    "smoke": {"customers": 60, "days": 90, "runs": 3},
    "full": {"customers": 1_000, "days": 90, "runs": 21},
}
__all__ = ["SCALES", "main", "report", "request_queries", "run"]


# Every customer of the organization and the calls without one (NULL), each day, both kinds.
_USAGE_SQL = (
    "INSERT INTO api_usagerecord (id, org_id, subject_customer_id, day, kind, count) "
    "SELECT gen_random_uuid(), %(org)s, c.id, (now() AT TIME ZONE 'UTC')::date - d, k, "
    "abs(hashtext(coalesce(c.id::text, 'org') || d::text || k)) %% 400 "
    "FROM (SELECT id FROM customers_customer WHERE org_id = %(org)s UNION ALL SELECT NULL) c, "
    "generate_series(0, %(days)s - 1) d, unnest(ARRAY['event', 'api_call']) k"
)


def _load_customers(org_id: uuid.UUID, count: int) -> None:
    """``count`` customers in three regions, through the ORM (every column gets its default)."""
    from customers.models import Customer
    from tenancy.context import ORGANIZATION, context

    regions = ("us", "eu", "apac")
    with context(org_id=org_id, role=ORGANIZATION):
        Customer.objects.bulk_create(
            Customer(
                org_id=org_id,
                name=f"Customer {n:06d}",
                slug=f"customer-{n}",
                external_id=f"ext-{n}",
                region=regions[n % len(regions)],
            )
            for n in range(1, count + 1)
        )


def _load_usage(org_id: uuid.UUID, days: int) -> None:
    """``days`` days of daily usage records, as the owner login (the flush's rows, at once)."""
    from django.db import connections

    cursor = connections["owner"].cursor()
    try:
        cursor.execute(_USAGE_SQL, {"org": str(org_id), "days": days})
        cursor.execute("ANALYZE api_usagerecord")
    finally:
        cursor.close()


def run(scale: str) -> dict[str, Any]:
    """Measure in already-prepared (test) databases and return the figures."""
    from django.test import Client

    from customers.models import Customer
    from tenancy.context import ORGANIZATION, context
    from tests.factories import make_org

    params = SCALES[scale]
    small, large = make_org("Bench billing small"), make_org("Bench billing large")
    _load_customers(small.id, 30)
    _load_usage(small.id, 30)
    _load_customers(large.id, params["customers"])
    _load_usage(large.id, params["days"])
    picked = {}
    for org in (small, large):
        with context(org_id=org.id, role=ORGANIZATION):
            picked[org.id] = str(Customer.objects.order_by("name").values_list("id", flat=True)[7])

    pages = {
        "billing 30 days": "settings/billing/",
        "billing 90 days": "settings/billing/?days=90",
        "one customer": "settings/billing/?days=90&customer=",
    }
    figures: dict[str, Any] = {
        "customers": params["customers"],
        "days": params["days"],
        "records": params["days"] * (params["customers"] + 1) * 2,
        "queries": {},
        "ms": {},
    }
    clients = {}
    for org in (small, large):
        client = Client()
        client.force_login(org.owner)
        clients[org.id] = client

    def url(org: Any, path: str) -> str:
        return f"/o/{org.slug}/{path}{picked[org.id] if path.endswith('=') else ''}"

    for label, path in pages.items():
        figures["queries"][label] = [
            request_queries(clients[org.id], url(org, path)) for org in (small, large)
        ]
    client = clients[large.id]
    urls = {"minimal page": "/accounts/password/change/"}
    urls.update({label: url(large, path) for label, path in pages.items()})
    figures["ms"] = harness.page_medians_ms(client, urls, params["runs"])
    figures["ratio"] = figures["ms"]["billing 90 days"] / figures["ms"]["minimal page"]
    return figures


def report(figures: dict) -> str:
    minimal = figures["ms"]["minimal page"]
    lines = [
        f"Settings → Billing with {figures['customers']:,} customers × {figures['days']} days "
        f"of usage ({figures['records']:,} daily records)",
        f"  {'minimal page':<16} {minimal:8.2f} ms (median)",
    ]
    lines += [
        f"  {label:<16} {figures['ms'][label]:8.2f} ms (median), {large} queries "
        f"(30 customers × 30 days: {small})"
        for label, (small, large) in figures["queries"].items()
    ]
    lines.append(f"ratio Billing (90 days) / minimal page: {figures['ratio']:.2f}")
    return "\n".join(lines)


def _measure(args: Any) -> tuple[str, int]:
    return report(run(args.scale)), 0


def main() -> int:
    return harness.main(__doc__, SCALES, "_billbench", _measure, test_environment=True)


if __name__ == "__main__":
    raise SystemExit(main())
