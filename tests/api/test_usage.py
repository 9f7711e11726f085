"""Usage: counted in Redis with each accepted call, flushed in batches, never lost or doubled."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from api import ratelimit, selectors
from api.models import UsageBatch, UsageRecord
from api.services import usage_flush
from tenancy.context import ORGANIZATION, context
from tests.api.conftest import Api, make_key
from tests.conftest import ALL_DATABASES
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)


@pytest.fixture(autouse=True)
def _same_utc_day() -> None:
    """Daily records are compared with today's: never start in the last minute of a UTC day."""
    import time

    left = 86_400 - time.time() % 86_400
    if left < 60:
        time.sleep(left + 0.1)


def _records(org) -> dict[tuple, int]:
    with context(org_id=org.id, role=ORGANIZATION):
        return {
            (r.subject_customer_id, r.kind): r.count
            for r in UsageRecord.objects.filter(day=selectors.today())
        }


def test_accepted_calls_are_flushed_into_daily_records_once(world: World, api: Api) -> None:
    raw = make_key(world.org, "operator")
    for _ in range(3):
        assert api("GET", "/key", raw, customer=world.customer).status_code == 200
    assert api("GET", "/key", raw).status_code == 200
    batch = {"events": [{"name": "e"} for _ in range(4)]}
    assert api("POST", "/events/batch", raw, customer=world.customer, json=batch).status_code == 202
    usage_flush()
    assert _records(world.org) == {
        (world.customer.id, "api_call"): 4,
        (world.customer.id, "event"): 4,
        (None, "api_call"): 1,
    }
    usage_flush()  # nothing pending: nothing added
    assert _records(world.org)[(world.customer.id, "api_call")] == 4
    assert api("GET", "/key", raw, customer=world.customer).status_code == 200
    usage_flush()
    assert _records(world.org)[(world.customer.id, "api_call")] == 5
    with context(org_id=world.org.id, role=ORGANIZATION):
        assert UsageRecord.objects.count() == 3  # one row per (customer, day, kind), not per call


def test_a_batch_left_by_a_crash_after_commit_is_not_counted_twice(world: World) -> None:
    conn = ratelimit.client()
    org_id = world.org.id
    field = ratelimit.usage_field(world.customer.id, selectors.today(), "api_call")
    conn.hincrby(ratelimit.usage_hash_key(org_id), field, 7)
    conn.sadd(ratelimit.usage_dirty_key(), str(org_id))
    # A flush that wrote its batch and died before deleting it from Redis.
    from api import services

    batch_key = f"{ratelimit.usage_hash_key(org_id)}:batch:crashed"
    conn.rename(ratelimit.usage_hash_key(org_id), batch_key)
    conn.srem(ratelimit.usage_dirty_key(), str(org_id))
    conn.sadd(services._inflight_key(), batch_key)
    assert services._write_batch(org_id, batch_key, {field: 7})
    assert _records(world.org) == {(world.customer.id, "api_call"): 7}
    # The next run finds the batch, sees it was written, and only removes it.
    usage_flush()
    assert _records(world.org) == {(world.customer.id, "api_call"): 7}
    assert not conn.exists(batch_key)
    assert not conn.sismember(services._inflight_key(), batch_key)


def test_a_batch_left_by_a_crash_before_commit_is_written_on_the_next_run(world: World) -> None:
    from api import services

    conn = ratelimit.client()
    org_id = world.org.id
    field = ratelimit.usage_field(None, selectors.today(), "api_call")
    batch_key = f"{ratelimit.usage_hash_key(org_id)}:batch:{uuid.uuid4().hex}"
    conn.hincrby(batch_key, field, 5)
    conn.sadd(services._inflight_key(), batch_key)
    usage_flush()
    assert _records(world.org) == {(None, "api_call"): 5}
    with context(org_id=org_id, role=ORGANIZATION):
        assert UsageBatch.objects.filter(batch_key=batch_key).exists()


def test_usage_selectors_break_down_by_customer_and_day(world: World, api: Api) -> None:
    raw = make_key(world.org, "operator")
    for _ in range(2):
        api("GET", "/key", raw, customer=world.customer)
    api("GET", "/key", raw, customer=world.second_customer)
    usage_flush()
    api("GET", "/key", raw, customer=world.second_customer)  # still pending in Redis: shown as well
    with context(org_id=world.org.id, role=ORGANIZATION):
        rows = selectors.usage_by_customer(organization=world.org)
        daily = selectors.usage_daily(organization=world.org, days=7)
        only_a1 = selectors.usage_daily(
            organization=world.org, days=1, customer_id=world.customer.id
        )
    assert [(r.name, r.api_calls) for r in rows] == [("Hooli", 2), ("Northwind", 2)]
    assert len(daily) == 7 and daily[-1].day == selectors.today()
    assert daily[-1].api_calls == 4 and sum(d.api_calls for d in daily[:-1]) == 0
    assert only_a1[0].api_calls == 2
    with context(org_id=world.other_org.id, role=ORGANIZATION):
        assert selectors.usage_by_customer(organization=world.other_org) == []
    assert isinstance(daily[0].day, date)


def test_usage_section_on_the_api_keys_page(world: World, api: Api) -> None:
    from django.test import Client

    raw = make_key(world.org, "operator")
    api("GET", "/key", raw, customer=world.customer)
    client = Client()
    client.force_login(world.org.owner)
    page = client.get(f"/o/{world.org.slug}/settings/api-keys/")
    assert b"Usage this month" in page.content and b"Northwind" in page.content


def test_beat_task_flushes_usage_on_a_real_worker(world: World, api: Api, celery_worker) -> None:
    import time

    from api.tasks import flush_usage

    raw = make_key(world.org, "operator")
    for _ in range(2):
        assert api("GET", "/key", raw, customer=world.second_customer).status_code == 200
    flush_usage.delay()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _records(world.org):
        time.sleep(0.2)
    assert _records(world.org) == {(world.second_customer.id, "api_call"): 2}
