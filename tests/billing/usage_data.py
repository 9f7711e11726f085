"""Usage to look at: daily records as the flush writes them, and counts still pending in Redis
(cleaned up after the test, so the shared world's organization starts every test without any)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from api import ratelimit
from api.models import UsageRecord
from billing.selectors import usage_today
from billing.services import customer_limit_set
from customers.models import Customer, Organization
from tenancy.context import ORGANIZATION, context

Record = Callable[..., None]


def record_usage(
    org: Organization,
    kind: str,
    count: int,
    *,
    days_ago: int = 0,
    customer: Customer | uuid.UUID | None = None,
) -> None:
    """One daily ``UsageRecord`` (``customer=None``: calls without a customer)."""
    subject = getattr(customer, "id", customer)
    with context(org_id=org.id, role=ORGANIZATION):
        UsageRecord.objects.create(
            org=org,
            kind=kind,
            count=count,
            day=usage_today() - timedelta(days=days_ago),
            subject_customer_id=subject,
        )


def override_limit(org: Organization, customer: Customer, key: str, value: int) -> None:
    """Set a customer's limit override as the organization's owner, through the service."""
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        customer_limit_set(
            acting_user=org.owner, organization=org, customer=customer, key=key, value=value
        )


def _forget_redis_usage(org: Organization) -> None:
    conn = ratelimit.client()
    conn.delete(ratelimit.usage_hash_key(org.id))
    conn.srem(ratelimit.usage_dirty_key(), str(org.id))
    for key in conn.scan_iter(match=f"rl:{org.id}:*"):
        conn.delete(key)


@pytest.fixture
def pending_usage() -> Iterator[Callable[..., None]]:
    """``pending_usage(org, kind, count, customer=None)``: counted by the rate limiter today and
    not flushed yet. Redis keeps no transaction: what a test adds (and the rate-limit counters
    of the API calls it makes) is removed afterwards."""
    touched: list[Organization] = []

    def add(org: Organization, kind: str, count: int, customer: Customer | None = None) -> None:
        touched.append(org)
        field = ratelimit.usage_field(customer.id if customer else None, usage_today(), kind)
        ratelimit.client().hincrby(ratelimit.usage_hash_key(org.id), field, count)

    yield add
    for org in touched:
        _forget_redis_usage(org)


@pytest.fixture
def forget_redis_usage() -> Iterator[Callable[[Organization], None]]:
    """Register an organization whose API calls in this test leave counters in Redis."""
    touched: list[Organization] = []
    yield touched.append
    for org in touched:
        _forget_redis_usage(org)
