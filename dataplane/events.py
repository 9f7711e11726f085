"""Events are kept (SPEC §11): what ``POST /api/v1/events`` stores, how it is read back, and how
long it stays.

An event is a row of its customer, in the customer's region database under RLS
(``dataplane.models.Event``). ``event_drafts`` checks a whole batch first — every payload a JSON
object of at most ``MAX_PAYLOAD_BYTES`` with no NUL character — so ``events_record`` stores all
of it or, refused, nothing. An execution names the event that triggered it
(``ExecutionLog.event``, queued by ``dataplane.services.triggers``); ``event_executions`` reads
them back. ``events_expire`` deletes an organization's events older than its plan's retention
(``customers.plans.EVENT_RETENTION_DAYS``); ``dataplane.event_tasks`` runs it from Celery beat.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from customers.models import Customer, Organization
from customers.plans import EVENT_RETENTION_DAYS
from dataplane.models import Event, ExecutionLog
from dataplane.services.primitives import require_customer_scope
from tenancy.context import region_runtime_aliases, require_scope

MAX_PAYLOAD_BYTES = 256 * 1024
PAYLOAD_TOO_LARGE = "payload_too_large"
INVALID_PAYLOAD = "invalid_payload"


@dataclass(frozen=True)
class EventDraft:
    """An event checked by ``event_drafts``, ready to store."""

    name: str
    payload: dict[str, Any]
    payload_bytes: int


# JSON writes U+0000 as the escape \u0000, after an even number of backslashes (an odd number
# would make it the literal text "\u0000"); PostgreSQL's jsonb cannot store the character.
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _compact(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def payload_bytes(payload: Any) -> int:
    """The size of ``payload`` as compact UTF-8 JSON: what the 256 KB limit measures."""
    return len(_compact(payload).encode())


def event_drafts(events: Iterable[tuple[str, Any]]) -> list[EventDraft]:
    """Check every ``(name, payload)`` of a batch before anything is stored: the whole batch, or
    a ``ValidationError`` (``payload_too_large`` or ``invalid_payload``) naming the first one
    refused (0-based)."""
    drafts = []
    for index, (name, payload) in enumerate(events):
        text = _compact(payload) if isinstance(payload, dict) else ""
        if not text or _NUL_ESCAPE.search(text):
            raise ValidationError(
                f"Event {index}: the payload must be a JSON object without NUL characters.",
                code=INVALID_PAYLOAD,
            )
        size = len(text.encode())
        if size > MAX_PAYLOAD_BYTES:
            raise ValidationError(
                f"Event {index}: the payload is {size} bytes; at most {MAX_PAYLOAD_BYTES} "
                "(256 KB) are accepted.",
                code=PAYLOAD_TOO_LARGE,
            )
        drafts.append(EventDraft(name, payload, size))
    return drafts


def events_record(*, customer: Customer, drafts: list[EventDraft]) -> list[Event]:
    """Store a checked batch as ``customer``'s events, in one insert (all or nothing)."""
    require_customer_scope(customer)
    return Event.objects.bulk_create(
        Event(
            org_id=customer.org_id,
            customer_id=customer.id,
            name=draft.name,
            payload=draft.payload,
            payload_bytes=draft.payload_bytes,
        )
        for draft in drafts
    )


def event_list() -> QuerySet[Event]:
    """The customer in scope's events, newest first (the payload is left for the detail)."""
    return Event.objects.defer("payload").order_by("-created_at", "-id")


def event_executions(*, event: Event) -> QuerySet[ExecutionLog]:
    """The executions ``event`` triggered, oldest first."""
    return ExecutionLog.objects.filter(event_id=event.id).order_by("created_at", "id")


def event_retention_days(*, organization: Organization) -> int:
    return EVENT_RETENTION_DAYS.get(organization.plan.code, EVENT_RETENTION_DAYS["free"])


def events_expire(*, organization: Organization) -> int:
    """Delete the organization's events older than its plan keeps them, in every region
    database; returns how many. Runs in the organization-wide scope of ``organization``."""
    scope = require_scope()
    if scope.org_id != organization.id or scope.customer_id is not None:
        raise ValueError("Expire events in the organization's organization-wide scope.")
    cutoff = timezone.now() - timedelta(days=event_retention_days(organization=organization))
    deleted = 0
    for alias in dict.fromkeys(region_runtime_aliases().values()):
        count, _ = Event.objects.using(alias).filter(created_at__lt=cutoff).delete()
        deleted += count
    return deleted
