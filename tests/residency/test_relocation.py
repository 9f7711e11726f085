"""Relocation between region databases (SPEC §6): copy, verify, switch, clean — and failure at
each step leaves no loss and no duplicate."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from customers.models import Customer, CustomerStatus
from dataplane import selectors
from dataplane.models import Event, ExecutionLog
from residency.models import Relocation, RelocationState
from residency.services import (
    RELOCATED_MODELS,
    RelocationFault,
    _copy_and_verify,
    relocation_run,
    relocation_start,
    table_fingerprint,
)
from roles import catalog
from tenancy.context import ORGANIZATION, context, region_alias
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer, make_customer_data, make_member, make_org

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
REGIONS = ("us", "eu", "apac")


@pytest.fixture(autouse=True)
def parked_queue(request, settings):
    """Tests that run the relocation in this process park its task on a queue no worker reads,
    so a session worker started by another test cannot run it at the same time."""
    if "celery_worker" not in request.fixturenames:
        settings.RESIDENCY_TASK_QUEUE = f"parked-{uuid.uuid4()}"


def _rows_by_region(customer_id: uuid.UUID) -> dict[str, int]:
    counts = {}
    for region in REGIONS:
        alias = region_alias(region, login="owner")
        total = 0
        with connections[alias].cursor() as cursor:
            for model in RELOCATED_MODELS:
                cursor.execute(
                    f"SELECT count(*) FROM {model._meta.db_table} WHERE customer_id = %s",
                    [str(customer_id)],
                )
                total += cursor.fetchone()[0]
        counts[region] = total
    return counts


def _fingerprints(region: str, customer_id: uuid.UUID) -> dict[str, tuple[int, str]]:
    alias = region_alias(region, login="owner")
    return {m._meta.db_table: table_fingerprint(alias, m, customer_id) for m in RELOCATED_MODELS}


@pytest.fixture
def populated():
    org = make_org()
    customer = make_customer(org, "Movable", region="us")
    for _ in range(3):
        make_customer_data(org, customer)
    return org, customer


def _start(org, customer, to_region) -> Relocation:
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        return relocation_start(acting_user=org.owner, customer=customer, to_region=to_region)


def _customer(org, customer) -> Customer:
    with context(org_id=org.id, role=ORGANIZATION):
        return Customer.objects.get(id=customer.id)


def test_round_trip_us_eu_apac_keeps_every_row_identical(populated, settings) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    org, customer = populated
    original = _fingerprints("us", customer.id)
    assert sum(count for count, _ in original.values()) > 0
    for source, target in (("us", "eu"), ("eu", "apac")):
        relocation = _start(org, customer, target)
        assert _customer(org, customer).status == CustomerStatus.RELOCATING
        relocation_run(org_id=org.id, relocation_id=relocation.id)
        moved = _customer(org, customer)
        assert moved.region == target
        assert moved.status == CustomerStatus.ACTIVE
        assert _fingerprints(target, customer.id) == original
        assert _rows_by_region(customer.id)[source] == 0
    counts = _rows_by_region(customer.id)
    assert counts["apac"] == sum(c for c, _ in original.values())
    assert counts["us"] == counts["eu"] == 0


@pytest.mark.parametrize("step", ["copy", "verify", "switch"])
def test_failure_before_the_switch_leaves_the_customer_whole_in_its_old_region(
    populated, settings, step
) -> None:
    org, customer = populated
    original = _fingerprints("us", customer.id)
    relocation = _start(org, customer, "eu")
    settings.RESIDENCY_FAULT_AT = step
    with pytest.raises(RelocationFault):
        relocation_run(org_id=org.id, relocation_id=relocation.id)
    after = _customer(org, customer)
    assert after.region == "us"
    assert after.status == CustomerStatus.ACTIVE
    assert _fingerprints("us", customer.id) == original
    assert _rows_by_region(customer.id)["eu"] == 0
    with context(org_id=org.id):
        failed = Relocation.objects.get(id=relocation.id)
    assert failed.state == RelocationState.FAILED
    assert step in failed.error
    settings.RESIDENCY_FAULT_AT = None
    retry = _start(org, customer, "eu")
    relocation_run(org_id=org.id, relocation_id=retry.id)
    assert _customer(org, customer).region == "eu"
    assert _fingerprints("eu", customer.id) == original


def test_failure_while_cleaning_is_finished_by_a_retry_without_duplicates(
    populated, settings
) -> None:
    org, customer = populated
    original = _fingerprints("us", customer.id)
    relocation = _start(org, customer, "eu")
    settings.RESIDENCY_FAULT_AT = "clean"
    with pytest.raises(RelocationFault):
        relocation_run(org_id=org.id, relocation_id=relocation.id)
    switched = _customer(org, customer)
    assert switched.region == "eu"
    assert _fingerprints("eu", customer.id) == original
    # Leftovers in the old region are invisible: reads go to the new region only.
    with context(org_id=org.id, customer_id=customer.id):
        assert ExecutionLog.objects.count() == original["dataplane_executionlog"][0]
    settings.RESIDENCY_FAULT_AT = None
    relocation_run(org_id=org.id, relocation_id=relocation.id)
    assert _rows_by_region(customer.id)["us"] == 0
    assert _customer(org, customer).status == CustomerStatus.ACTIVE


def test_retry_removes_leftovers_of_an_interrupted_copy(populated) -> None:
    org, customer = populated
    relocation = _start(org, customer, "apac")
    # An interrupted earlier run left a partial copy behind in the target region.
    with context(org_id=org.id, role=ORGANIZATION):
        with connections[region_alias("us")].cursor() as cursor:
            cursor.execute(
                "SELECT json_agg(c)::text FROM dataplane_connection c WHERE customer_id = %s",
                [str(customer.id)],
            )
            rows = cursor.fetchone()[0]
        with connections[region_alias("apac")].cursor() as cursor:
            cursor.execute(
                "INSERT INTO dataplane_connection SELECT * FROM "
                "json_populate_recordset(NULL::dataplane_connection, %s::json)",
                [rows],
            )
    relocation_run(org_id=org.id, relocation_id=relocation.id)
    assert _fingerprints("apac", customer.id) == _expected_after_move(org, customer)


def _expected_after_move(org, customer):
    return _fingerprints(_customer(org, customer).region, customer.id)


def test_copied_rows_are_not_visible_twice_before_the_switch(populated) -> None:
    org, customer = populated
    relocation = _start(org, customer, "eu")
    with context(org_id=org.id):
        before = selectors.organization_executions(per_page=100).total
    _copy_and_verify(relocation)
    assert _rows_by_region(customer.id)["eu"] > 0
    with context(org_id=org.id):
        assert selectors.organization_executions(per_page=100).total == before


def test_a_second_runner_leaves_a_leased_relocation_alone(populated) -> None:
    org, customer = populated
    relocation = _start(org, customer, "eu")
    with context(org_id=org.id):
        Relocation.objects.filter(id=relocation.id).update(
            lease_owner=uuid.uuid4(), lease_expires_at=timezone.now() + timedelta(minutes=5)
        )
    result = relocation_run(org_id=org.id, relocation_id=relocation.id)
    assert result.state == RelocationState.PENDING
    assert _rows_by_region(customer.id)["eu"] == 0
    assert _customer(org, customer).region == "us"
    with context(org_id=org.id):
        Relocation.objects.filter(id=relocation.id).update(
            lease_expires_at=timezone.now() - timedelta(seconds=1)
        )
    assert relocation_run(org_id=org.id, relocation_id=relocation.id).state == "done"
    assert _customer(org, customer).region == "eu"


def test_second_relocation_of_a_relocating_customer_is_refused(populated) -> None:
    from django.core.exceptions import ValidationError

    org, customer = populated
    _start(org, customer, "eu")
    with pytest.raises(ValidationError):
        _start(org, customer, "apac")


def test_organization_wide_executions_merge_and_paginate_across_regions() -> None:
    org = make_org()
    customers = [make_customer(org, f"C-{r}", region=r) for r in REGIONS]
    base = timezone.now()
    expected = []
    for index in range(21):
        customer = customers[index % 3]
        with context(org_id=org.id, customer_id=customer.id):
            log = ExecutionLog.objects.create(
                org_id=org.id, customer_id=customer.id, status="completed"
            )
            ExecutionLog.objects.filter(id=log.id).update(
                created_at=base - timedelta(minutes=index)
            )
        expected.append(log.id)
    with context(org_id=org.id):
        seen = []
        for page in (1, 2, 3):
            result = selectors.organization_executions(page=page, per_page=8)
            assert result.total == 21
            assert result.num_pages == 3
            seen += [log.id for log in result.items]
    assert seen == expected


def test_relocation_page_is_for_settings_managers_only(populated) -> None:
    org, customer = populated
    url = f"/o/{org.slug}/customers/{customer.id}/residency/relocate/"
    developer = make_member(org, catalog.DEVELOPER).user
    client = Client()
    client.force_login(developer)
    assert client.get(url).status_code == 403
    assert client.post(url, {"to_region": "eu", "confirm": "on"}).status_code == 403
    assert _customer(org, customer).status == CustomerStatus.ACTIVE
    owner = Client()
    owner.force_login(org.owner)
    assert owner.get(url).status_code == 200


def test_outsider_gets_404_on_relocation_urls(populated) -> None:
    org, customer = populated
    outsider = make_org()
    client = Client()
    client.force_login(outsider.owner)
    for url in (
        f"/o/{org.slug}/customers/{customer.id}/residency/relocate/",
        f"/o/{org.slug}/customers/{customer.id}/residency/status.json",
        f"/o/{outsider.slug}/customers/{customer.id}/residency/relocate/",
        f"/o/{outsider.slug}/customers/{customer.id}/residency/status.json",
    ):
        assert client.get(url).status_code == 404, url


def test_relocation_runs_end_to_end_on_the_worker_with_progress(populated, celery_worker) -> None:
    org, customer = populated
    original = _fingerprints("us", customer.id)
    client = Client()
    client.force_login(org.owner)
    response = client.post(
        f"/o/{org.slug}/customers/{customer.id}/residency/relocate/",
        {"to_region": "eu", "confirm": "on"},
    )
    assert response.status_code == 302
    status_url = f"/o/{org.slug}/customers/{customer.id}/residency/status.json"
    deadline = time.monotonic() + 60
    state = None
    while time.monotonic() < deadline:
        state = client.get(status_url).json()["state"]
        if state in ("done", "failed"):
            break
        time.sleep(0.3)
    assert state == "done", celery_worker.log_path.read_text()[-3000:]
    assert _fingerprints("eu", customer.id) == original
    assert _rows_by_region(customer.id)["us"] == 0
    with context(org_id=org.id):
        actions = list(
            __import__("audit.models", fromlist=["AuditLogEntry"])
            .AuditLogEntry.objects.filter(
                subject_customer_id=customer.id, action__startswith="customer.relocation"
            )
            .values_list("action", flat=True)
        )
    assert sorted(actions) == ["customer.relocation_done", "customer.relocation_start"]


def test_events_move_with_the_executions_they_triggered(populated) -> None:
    org, customer = populated
    with context(org_id=org.id, customer_id=customer.id, role=ORGANIZATION):
        event = Event.objects.create(
            org_id=org.id, customer_id=customer.id, name="order.created", payload={"n": 1}
        )
        ExecutionLog.objects.update(event=event)
    original = _fingerprints("us", customer.id)
    assert original[Event._meta.db_table][0] == 1
    relocation_run(org_id=org.id, relocation_id=_start(org, customer, "eu").id)
    assert _fingerprints("eu", customer.id) == original
    assert _rows_by_region(customer.id)["us"] == 0
    with context(org_id=org.id, customer_id=customer.id, role=ORGANIZATION):
        assert set(ExecutionLog.objects.values_list("event_id", flat=True)) == {event.id}
