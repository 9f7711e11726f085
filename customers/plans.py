"""Plan catalog (SPEC §7). Limits apply per customer unless the key says ``_per_org``.

Free follows Fastn's published Free plan; the others are ours. ``limits`` of the Plan rows are
written from here by a data migration.
"""

from __future__ import annotations

LIMIT_LABELS: dict[str, str] = {
    "events_per_day": "Events per day",
    "events_per_minute": "Events per minute",
    "api_calls_per_day": "API calls per day",
    "api_calls_per_minute": "API calls per minute",
    "connections_per_customer": "Connections per customer",
    "workflows_per_customer": "Workflows per customer",
    "customers_per_org": "Customers per organization",
    "api_keys_per_org": "API keys per organization",
}
PER_CUSTOMER_LIMITS = tuple(key for key in LIMIT_LABELS if not key.endswith("_per_org"))
# How long each plan keeps a customer's events (SPEC §11); a plan not listed keeps them as long as
# Free does. Read by dataplane.events, not stored on the Plan rows.
EVENT_RETENTION_DAYS: dict[str, int] = {"free": 7, "starter": 30, "growth": 90, "enterprise": 365}

PLANS: tuple[dict[str, object], ...] = (
    {
        "code": "free",
        "name": "Free",
        "monthly_price_cents": 0,
        "sort_order": 0,
        "limits": {
            "events_per_day": 500,
            "events_per_minute": 10,
            "api_calls_per_day": 1_000,
            "api_calls_per_minute": 20,
            "connections_per_customer": 5,
            "workflows_per_customer": 5,
            "customers_per_org": 25,
            "api_keys_per_org": 2,
        },
    },
    {
        "code": "starter",
        "name": "Starter",
        "monthly_price_cents": 4_900,
        "sort_order": 1,
        "limits": {
            "events_per_day": 10_000,
            "events_per_minute": 100,
            "api_calls_per_day": 20_000,
            "api_calls_per_minute": 200,
            "connections_per_customer": 20,
            "workflows_per_customer": 20,
            "customers_per_org": 250,
            "api_keys_per_org": 10,
        },
    },
    {
        "code": "growth",
        "name": "Growth",
        "monthly_price_cents": 29_900,
        "sort_order": 2,
        "limits": {
            "events_per_day": 100_000,
            "events_per_minute": 1_000,
            "api_calls_per_day": 200_000,
            "api_calls_per_minute": 2_000,
            "connections_per_customer": 100,
            "workflows_per_customer": 100,
            "customers_per_org": 2_500,
            "api_keys_per_org": 50,
        },
    },
    {
        "code": "enterprise",
        "name": "Enterprise",
        "monthly_price_cents": 0,
        "sort_order": 3,
        "limits": {
            "events_per_day": 1_000_000,
            "events_per_minute": 10_000,
            "api_calls_per_day": 2_000_000,
            "api_calls_per_minute": 20_000,
            "connections_per_customer": 1_000,
            "workflows_per_customer": 1_000,
            "customers_per_org": 100_000,
            "api_keys_per_org": 500,
        },
    },
)
