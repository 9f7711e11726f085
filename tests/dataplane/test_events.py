"""Events are kept as long as the plan says (SPEC §11): ``events_expire`` and the beat task delete
an organization's events older than its plan's retention in every region, keep the rest and
every other organization's, and keep the executions they triggered (their link cleared)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from customers.models import Organization
from customers.plans import EVENT_RETENTION_DAYS
from dataplane.event_tasks import expire_events_task
from dataplane.events import event_drafts, event_retention_days, events_expire, events_record
from dataplane.models import Event, ExecutionLog
from dataplane.services import execution_log_create_unchecked
from fastn_console.celery import app
from roles import catalog
from roles.models import Role
from roles.services import membership_create
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import in_customer
from tests.factories import client_for, make_org, make_user
from tests.world import World, build_world

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _event(org: Organization, customer, name: str, age_days: float) -> Event:
    with in_customer(org, customer):
        (event,) = events_record(customer=customer, drafts=event_drafts([(name, {"n": 1})]))
        received = timezone.now() - timedelta(days=age_days)
        Event.objects.filter(id=event.id).update(created_at=received)
    return event


def _names(org: Organization, customer) -> set[str]:
    with in_customer(org, customer):
        return set(Event.objects.values_list("name", flat=True))


def test_retention_follows_the_plan() -> None:
    free, starter = make_org("Free Org"), make_org("Starter Org", plan_code="starter")
    assert event_retention_days(organization=free) == EVENT_RETENTION_DAYS["free"] == 7
    assert event_retention_days(organization=starter) == EVENT_RETENTION_DAYS["starter"] == 30


def test_expiry_deletes_only_events_older_than_the_plan_keeps_in_every_region(
    world: World,
) -> None:
    org, eu, us = world.org, world.customer, world.second_customer  # Free plan: 7 days
    _event(org, eu, "eu-old", 8)
    _event(org, eu, "eu-recent", 6)
    _event(org, us, "us-old", 30)
    _event(world.other_org, world.other_customer, "globex-old", 8)
    with context(org_id=org.id, role=ORGANIZATION):
        assert events_expire(organization=org) == 2
    assert _names(org, eu) == {"eu-recent"}
    assert _names(org, us) == set()
    assert _names(world.other_org, world.other_customer) == {"globex-old"}


def test_expiry_keeps_the_executions_an_event_triggered(world: World) -> None:
    event = _event(world.org, world.customer, "old", 8)
    with in_customer(world.org, world.customer):
        run = execution_log_create_unchecked(source="event")
        ExecutionLog.objects.filter(id=run.id).update(event_id=event.id)
    with context(org_id=world.org.id, role=ORGANIZATION):
        events_expire(organization=world.org)
    with in_customer(world.org, world.customer):
        assert ExecutionLog.objects.get(id=run.id).event_id is None


def test_expiry_needs_the_organizations_own_wide_scope(world: World) -> None:
    with in_customer(world.org, world.customer), pytest.raises(ValueError):
        events_expire(organization=world.org)
    with context(org_id=world.other_org.id, role=ORGANIZATION), pytest.raises(ValueError):
        events_expire(organization=world.org)


def test_the_beat_task_expires_every_organization_by_its_own_plan() -> None:
    free = build_world(label="free")
    starter = build_world(label="starter", plan_code="starter")
    _event(free.org, free.customer, "ten-days", 10)
    _event(starter.org, starter.customer, "ten-days", 10)
    _event(starter.org, starter.customer, "forty-days", 40)
    assert expire_events_task() == 2
    assert _names(free.org, free.customer) == set()
    assert _names(starter.org, starter.customer) == {"ten-days"}


def test_the_beat_task_is_scheduled_and_registered_with_the_worker() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["dataplane-expire-events"]
    assert entry["task"] == "dataplane.expire_events"
    app.loader.import_default_modules()
    assert "dataplane.expire_events" in app.tasks


# --- The customer's events pages ------------------------------------------------------------


def test_the_customer_page_lists_events_newest_first_paginated(world: World) -> None:
    with in_customer(world.org, world.customer):
        events_record(
            customer=world.customer,
            drafts=event_drafts([(f"event-{n:02}", {"n": n}) for n in range(26)]),
        )
        Event.objects.filter(name="event-00").update(created_at=timezone.now() - timedelta(1))
    client = world.client(catalog.VIEWER)
    executions_tab = client.get(world.customer_url(suffix="executions/")).content.decode()
    assert world.customer_url(suffix="events/") in executions_tab
    first = client.get(world.customer_url(suffix="events/"))
    assert first.status_code == 200
    assert "event-01" in first.content.decode() and "event-00" not in first.content.decode()
    assert "kept 7 days" in first.content.decode()
    second = client.get(world.customer_url(suffix="events/"), {"page": 2}).content.decode()
    assert "event-00" in second and "event-01" not in second


def test_an_event_page_shows_payload_and_executions(world: World) -> None:
    event = _event(world.org, world.customer, "order.paid", 0)
    with in_customer(world.org, world.customer):
        run = execution_log_create_unchecked(source="event")
        ExecutionLog.objects.filter(id=run.id).update(event_id=event.id)
    page = world.client(catalog.END_USER).get(world.customer_url(suffix=f"events/{event.id}/"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "order.paid" in body and "&quot;n&quot;: 1" in body
    assert world.customer_url(suffix=f"executions/{run.id}/") in body


def test_events_pages_need_executions_read(world: World) -> None:
    event = _event(world.org, world.customer, "order.paid", 0)
    with context(org_id=world.org.id, role=ORGANIZATION, user_id=world.org.owner_id):
        role = Role.objects.create(
            org=world.org, name="Customers only", permissions=["customers.read"]
        )
        member = membership_create(organization=world.org, user=make_user(), role=role)
    client = client_for(member.user)
    assert client.get(world.customer_url(suffix="events/")).status_code == 403
    assert client.get(world.customer_url(suffix=f"events/{event.id}/")).status_code == 403


def test_end_user_sees_no_other_customers_events(world: World) -> None:
    event = _event(world.org, world.second_customer, "private", 0)
    client = world.client(catalog.END_USER)  # restricted to world.customer
    url = world.customer_url(world.second_customer, f"events/{event.id}/")
    assert client.get(url).status_code == 404
    own = world.customer_url(suffix=f"events/{event.id}/")
    assert client.get(own).status_code == 404
