"""The webhook event types (SPEC §12), declared once with what each means.

An endpoint subscribes to a selection of these keys; services report a change with
``webhooks.services.webhook_event_record(event_type=…)``, which refuses a key not declared here.
Only types some service actually emits are offered: a type nobody sends would be a label that
changes nothing. ``TEST`` is the one the **Send test event** button sends; no endpoint
subscribes to it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    key: str
    description: str


_TYPES: list[EventType] = []


def _event(key: str, description: str) -> str:
    _TYPES.append(EventType(key, description))
    return key


CUSTOMER_CREATED = _event("customer.created", "A customer was created")
CUSTOMER_UPDATED = _event("customer.updated", "A customer's name or external ID changed")
CUSTOMER_ACTIVATED = _event("customer.activated", "A customer was activated")
CUSTOMER_SUSPENDED = _event("customer.suspended", "A customer was suspended")
CUSTOMER_DELETED = _event("customer.deleted", "A customer was deleted")
CONNECTION_CREATED = _event("connection.created", "A customer's connection was created")
CONNECTION_REMOVED = _event("connection.removed", "A customer's connection was removed")
EXECUTION_FAILED = _event("execution.failed", "A workflow execution failed or timed out")
LIMIT_WARNING = _event("limit.warning", "A customer used 80 % of a limit in its window")
LIMIT_REACHED = _event("limit.reached", "A customer reached a limit in its window")

EVENT_TYPES: dict[str, EventType] = {event.key: event for event in _TYPES}

TEST = "webhook.test"


def declared(key: str) -> str:
    """``key`` itself if it is a declared event type (or the test event); ``ValueError`` if not."""
    if key not in EVENT_TYPES and key != TEST:
        raise ValueError(f"Webhook event type {key!r} is not declared in webhooks.events")
    return key


def choices() -> list[tuple[str, str]]:
    return [(event.key, f"{event.key} — {event.description}") for event in _TYPES]
