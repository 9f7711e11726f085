"""Writes of the webhooks app, by concern:

- ``outbox``: ``webhook_event_record`` — the one call other apps' services make, in the
  transaction of their change;
- ``endpoints``: creating and managing endpoints, Send test event, Redeliver;
- ``delivery``: fan-out, one attempt at a time, retries, disabling, the sweep;
- ``limits``: limit notices at 80 % and 100 % of a rate limit, their email and event.
"""

from webhooks.services.delivery import (
    PlannedAttempt,
    attempt_verdict,
    delivery_attempt_begin,
    delivery_attempt_finish,
    delivery_attempt_send,
    event_body,
    event_payload,
    next_attempt_at,
    webhook_endpoint_disable,
    webhook_event_dispatch,
    webhooks_sweep_organization,
)
from webhooks.services.endpoints import (
    CreatedEndpoint,
    webhook_delivery_redeliver,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_enable,
    webhook_endpoint_test,
    webhook_endpoint_update,
)
from webhooks.services.limits import billing_managers, limit_notice_email, limit_notices_record
from webhooks.services.outbox import (
    connection_event_record,
    customer_event_data,
    customer_event_record,
    execution_event_record,
    webhook_event_record,
)

__all__ = [
    "CreatedEndpoint",
    "PlannedAttempt",
    "attempt_verdict",
    "billing_managers",
    "connection_event_record",
    "customer_event_data",
    "customer_event_record",
    "delivery_attempt_begin",
    "delivery_attempt_finish",
    "delivery_attempt_send",
    "event_body",
    "event_payload",
    "execution_event_record",
    "limit_notice_email",
    "limit_notices_record",
    "next_attempt_at",
    "webhook_delivery_redeliver",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_disable",
    "webhook_endpoint_enable",
    "webhook_endpoint_test",
    "webhook_endpoint_update",
    "webhook_event_dispatch",
    "webhook_event_record",
    "webhooks_sweep_organization",
]
