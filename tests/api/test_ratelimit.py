"""Rate limits against real Redis: exact boundaries, overrides at once, many processes (SPEC §7)."""

from __future__ import annotations

import multiprocessing
import time
import uuid

import pytest
from django.conf import settings

from api import ratelimit
from customers.models import CustomerLimitOverride
from dataplane.models import Event
from tenancy.context import ORGANIZATION, context
from tests.api.conftest import Api, make_key, wait_for_fresh_minute
from tests.api.hammer import hammer
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer, make_org
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

FREE_PER_MINUTE = 20


def _override(customer, key: str, value: int) -> None:
    with context(org_id=customer.org_id, role=ORGANIZATION):
        CustomerLimitOverride.objects.update_or_create(
            customer_id=customer.id,
            limit_key=key,
            defaults={"org_id": customer.org_id, "value": value},
        )


def _free_org_in_a_fresh_minute(seconds: float):
    """A Free organization, a customer and a viewer key, once ``seconds`` are left of this
    minute at least."""
    org = make_org(plan_code="free")
    customer = make_customer(org)
    raw = make_key(org, "viewer")
    wait_for_fresh_minute(seconds)
    return org, customer, raw


def _use_up_the_minute(api: Api, raw: str, customer=None):
    """The Free plan's calls of a minute, each answered 200; returns the last answer."""
    for n in range(FREE_PER_MINUTE):
        response = api("GET", "/key", raw, customer=customer)
        assert response.status_code == 200, (n, response.content)
    return response


def test_21st_call_in_a_minute_on_free_is_refused_with_retry_after(api: Api) -> None:
    org, customer, raw = _free_org_in_a_fresh_minute(10)
    response = _use_up_the_minute(api, raw, customer)
    assert response["X-RateLimit-Remaining"] == "0"
    refused = api("GET", "/key", raw, customer=customer)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["limit"]["name"] == "api_calls_per_minute"
    assert error["limit"]["value"] == FREE_PER_MINUTE
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 60
    assert abs(retry_after - ratelimit.seconds_left_in_minute()) <= 2.5
    # Refused calls are not counted: the counter stays at the limit.
    counts = ratelimit.current_counts(org_id=org.id, customer_id=customer.id)
    assert counts["api_calls_per_minute"] == FREE_PER_MINUTE
    assert counts["api_calls_per_day"] == FREE_PER_MINUTE


def test_calls_without_customer_use_an_organization_wide_bucket_of_the_same_size(
    api: Api,
) -> None:
    _, customer, raw = _free_org_in_a_fresh_minute(10)
    _use_up_the_minute(api, raw)
    assert api("GET", "/key", raw).status_code == 429
    # The customer's own bucket is untouched by organization-wide calls.
    assert api("GET", "/key", raw, customer=customer).status_code == 200


def test_override_raises_and_lowers_the_limit_at_once(api: Api) -> None:
    _, customer, raw = _free_org_in_a_fresh_minute(15)
    _use_up_the_minute(api, raw, customer)
    assert api("GET", "/key", raw, customer=customer).status_code == 429
    _override(customer, "api_calls_per_minute", 25)
    for _ in range(5):
        assert api("GET", "/key", raw, customer=customer).status_code == 200
    refused = api("GET", "/key", raw, customer=customer)
    assert refused.status_code == 429
    assert refused.json()["error"]["limit"]["value"] == 25
    _override(customer, "api_calls_per_minute", 3)
    lowered = api("GET", "/key", raw, customer=customer)
    assert lowered.status_code == 429
    assert lowered.json()["error"]["limit"]["value"] == 3


def test_day_limit_is_named_and_retry_after_runs_to_the_end_of_the_utc_day() -> None:
    org_id, customer_id = uuid.uuid4(), uuid.uuid4()
    limits = {"api_calls_per_minute": 100, "api_calls_per_day": 3}
    now = 1_800_000_000.0  # a fixed instant: 2027-01-15 08:00:00 UTC
    for _ in range(3):
        decision = ratelimit.check_and_count(
            org_id=org_id,
            customer_id=customer_id,
            amounts={"api_call": 1},
            limits=limits,
            now=now,
        )
        assert decision.allowed
    refused = ratelimit.check_and_count(
        org_id=org_id, customer_id=customer_id, amounts={"api_call": 1}, limits=limits, now=now
    )
    assert not refused.allowed
    assert refused.refused_limit == "api_calls_per_day"
    assert refused.retry_after == 86_400 - (int(now) % 86_400)
    # The next UTC minute does not help; the next UTC day does.
    assert not ratelimit.check_and_count(
        org_id=org_id,
        customer_id=customer_id,
        amounts={"api_call": 1},
        limits=limits,
        now=now + 60,
    ).allowed
    assert ratelimit.check_and_count(
        org_id=org_id,
        customer_id=customer_id,
        amounts={"api_call": 1},
        limits=limits,
        now=now + refused.retry_after,
    ).allowed


def test_counters_expire_when_their_window_ends() -> None:
    org_id = uuid.uuid4()
    now = time.time()
    ratelimit.check_and_count(
        org_id=org_id,
        customer_id=None,
        amounts={"api_call": 1},
        limits={"api_calls_per_minute": 5, "api_calls_per_day": 5},
        now=now,
    )
    conn = ratelimit.client()
    minute_key = ratelimit.counter_key(org_id, None, ratelimit.window("api_calls_per_minute", now))
    day_key = ratelimit.counter_key(org_id, None, ratelimit.window("api_calls_per_day", now))
    assert minute_key == f"rl:{org_id}:{org_id}:api_calls_per_minute:{int(now // 60) * 60}"
    assert 0 < conn.ttl(minute_key) <= 60 + ratelimit.TTL_GRACE_SECONDS
    assert 0 < conn.ttl(day_key) <= 86_400 + ratelimit.TTL_GRACE_SECONDS


def test_event_batch_is_accepted_whole_or_refused_whole(world: World, api: Api) -> None:
    raw = make_key(world.org, "operator")
    _override(world.customer, "events_per_minute", 10)
    wait_for_fresh_minute(10)
    batch = {"events": [{"name": f"e{i}"} for i in range(7)]}
    assert (
        api("POST", "/events/batch", raw, customer=world.customer, json=batch).json()["accepted"]
        == 7
    )
    refused = api("POST", "/events/batch", raw, customer=world.customer, json=batch)
    assert refused.status_code == 429
    assert refused.json()["error"]["limit"]["name"] == "events_per_minute"
    with context(org_id=world.org.id, customer_id=world.customer.id, role=ORGANIZATION):
        assert Event.objects.count() == 7
    counts = ratelimit.current_counts(org_id=world.org.id, customer_id=world.customer.id)
    assert counts["events_per_minute"] == 7
    assert counts["api_calls_per_minute"] == 1  # the refused batch was not counted as a call
    small = {"events": [{"name": "e"} for _ in range(3)]}
    assert api("POST", "/events/batch", raw, customer=world.customer, json=small).status_code == 202
    assert (
        api("POST", "/events", raw, customer=world.customer, json={"name": "one"}).status_code
        == 429
    )


def test_concurrent_processes_never_exceed_the_limit() -> None:
    org_id = uuid.uuid4()
    limit, processes, attempts = 50, 6, 30
    now = time.time()  # one shared instant: every process counts in the same window
    mp = multiprocessing.get_context("spawn")
    queue = mp.Queue()
    workers = [
        mp.Process(
            target=hammer, args=(settings.REDIS_URL, str(org_id), limit, attempts, now, queue)
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    assert sum(results) == limit
    counts = ratelimit.current_counts(org_id=org_id, customer_id=None, now=now)
    assert counts["api_calls_per_minute"] == limit
