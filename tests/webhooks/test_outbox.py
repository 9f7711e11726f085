"""The outbox: an event is written in the transaction of the change it reports."""

from __future__ import annotations

import pytest

from customers.models import Customer
from customers.services import customer_delete_request, customer_status_change, customer_update
from dataplane.models import ExecutionStatus
from roles.catalog import OWNER
from tests.conftest import ALL_DATABASES
from tests.webhooks.conftest import in_org, make_endpoint
from webhooks import events
from webhooks.models import WebhookEvent
from webhooks.services import execution_event_record, webhook_event_record

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

EVERY_CUSTOMER_EVENT = [
    events.CUSTOMER_CREATED,
    events.CUSTOMER_UPDATED,
    events.CUSTOMER_ACTIVATED,
    events.CUSTOMER_SUSPENDED,
    events.CUSTOMER_DELETED,
]


def _types(org) -> list[str]:
    with in_org(org):
        return list(
            WebhookEvent.objects.order_by("created_at").values_list("event_type", flat=True)
        )


def test_customer_changes_write_their_events(shared_world) -> None:
    org = shared_world.org
    make_endpoint(org, event_types=EVERY_CUSTOMER_EVENT)
    client = shared_world.client(OWNER)
    response = client.post(
        shared_world.settings_url("customers/new/"), {"name": "Umbrella", "region": "us"}
    )
    assert response.status_code == 302, response.content
    with in_org(org):
        event = WebhookEvent.objects.get()
    assert event.event_type == events.CUSTOMER_CREATED
    assert event.data["customer"]["name"] == "Umbrella"
    assert event.subject_customer_id is not None
    with in_org(org):
        customer = Customer.objects.get(id=event.subject_customer_id)
        customer_update(
            acting_user=org.owner, customer=customer, name="Umbrella Corp", external_id=None
        )
        customer = customer_status_change(
            acting_user=org.owner, customer=customer, status="suspended"
        )
        customer = customer_status_change(acting_user=org.owner, customer=customer, status="active")
        customer_delete_request(acting_user=org.owner, customer=customer)
    assert _types(org) == [
        events.CUSTOMER_CREATED,
        events.CUSTOMER_UPDATED,
        events.CUSTOMER_SUSPENDED,
        events.CUSTOMER_ACTIVATED,
        events.CUSTOMER_DELETED,
    ]


def test_a_change_that_rolls_back_leaves_no_event(shared_world) -> None:
    org = shared_world.org
    make_endpoint(org)

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), in_org(org):
        webhook_event_record(event_type=events.CUSTOMER_CREATED, data={})
        raise Abandoned
    assert _types(org) == []


def test_no_event_is_written_without_a_subscribed_endpoint(shared_world) -> None:
    org = shared_world.org
    make_endpoint(org, event_types=[events.LIMIT_REACHED])
    with in_org(org):
        assert webhook_event_record(event_type=events.CUSTOMER_CREATED, data={}) is None
    assert _types(org) == []


def test_undeclared_event_types_are_refused(shared_world) -> None:
    with in_org(shared_world.org), pytest.raises(ValueError, match="not declared"):
        webhook_event_record(event_type="customer.exploded", data={})


def test_only_failed_executions_are_reported(shared_world) -> None:
    org = shared_world.org
    make_endpoint(org, event_types=[events.EXECUTION_FAILED])

    class Execution:
        def __init__(self, status: str) -> None:
            self.id = self.customer_id = shared_world.customer.id
            self.workflow_id, self.status, self.message = None, status, "step 1 failed: HTTP 500"
            self.finished_at = None

    with in_org(org):
        assert execution_event_record(execution=Execution(ExecutionStatus.COMPLETED)) is None
        event = execution_event_record(execution=Execution(ExecutionStatus.FAILED))
    assert event is not None and event.data["execution"]["status"] == "failed"
