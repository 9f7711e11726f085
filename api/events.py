"""The events operations of the JSON API (SPEC §11 "Events"), on a router of their own that
``api.endpoints`` mounts next to ``api.operations``'.

An accepted event is stored in the customer's region database (``dataplane.events``) and answered
with its id; the workflows whose version deployed to the request's environment (``x-fastn-env``,
prod by default) names it as a trigger are queued to run for it
(``dataplane.services.triggers``); ``GET /events/{id}`` reads it back with the executions it
triggered. A whole batch is
checked before anything is counted or stored: a payload over 256 KB is a 413, a body that is not
JSON or a payload that is not a JSON object a 400, and then nothing is stored. A body larger
than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused with the 413 before it is read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from api.auth import ApiError, api_scope, charge, charges_events, error_response
from api.operations import ERRORS, _customer_data, _found, request_environment
from api.schemas import EventAcceptedOut, EventBatchIn, EventIn, EventOut, EventsAcceptedOut
from dataplane import events
from dataplane import services as dataplane
from dataplane.models import Event

router = Router()
router.add_decorator(api_scope, mode="view")


def _too_large(message: str) -> ApiError:
    return ApiError(413, events.PAYLOAD_TOO_LARGE, message)


def _body_within_limit(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuse a body Django would not read (``DATA_UPLOAD_MAX_MEMORY_SIZE``) with the API's 413
    instead of a parse error; it runs before the key is checked, so nothing is counted."""

    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return error_response(
                _too_large(f"The request body is {length} bytes; at most {limit} are read.")
            )
        return run(request, *args, **kwargs)

    return checked


router.add_decorator(_body_within_limit, mode="view")


def _ingest(request: HttpRequest, batch: list[EventIn]) -> list[Event]:
    """Check the whole batch, count it, store it and queue the runs it triggers in the
    request's environment: all of it or nothing."""
    environment = request_environment(request)
    api, customer = _customer_data(request, "workflows.execute")
    try:
        drafts = events.event_drafts((event.name, event.payload) for event in batch)
    except ValidationError as exc:
        message = " ".join(exc.messages)
        if exc.code == events.PAYLOAD_TOO_LARGE:
            raise _too_large(message) from None
        raise ApiError(400, "invalid_request", message) from None
    charge(api, events=len(drafts))
    stored = events.events_record(customer=customer, drafts=drafts)
    dataplane.event_runs_queue(
        acting_user=api.principal,
        organization=api.organization,
        customer=customer,
        events=stored,
        environment=environment,
    )
    return stored


@router.post("/events", response={202: EventAcceptedOut, **ERRORS}, tags=["events"])
@charges_events
def events_ingest(request: HttpRequest, payload: EventIn) -> Status:
    """Ingest one event (``payload`` a JSON object of at most 256 KB). Counts one API call and
    one event; answers the stored event's id."""
    (event,) = _ingest(request, [payload])
    return Status(202, {"id": event.id, "accepted": 1})


@router.post("/events/batch", response={202: EventsAcceptedOut, **ERRORS}, tags=["events"])
@charges_events
def events_ingest_batch(request: HttpRequest, payload: EventBatchIn) -> Status:
    """Ingest up to 100 events: accepted whole or refused whole (one API call, N events)."""
    stored = _ingest(request, payload.events)
    return Status(202, {"accepted": len(stored), "ids": [event.id for event in stored]})


@router.get("/events/{event_id}", response={200: EventOut, **ERRORS}, tags=["events"])
def events_get(request: HttpRequest, event_id: uuid.UUID) -> dict[str, Any]:
    """One of the customer's events: name, payload, received time and the executions it
    triggered. Kept as long as the organization's plan retains events."""
    _customer_data(request, "executions.read")
    event = _found(Event.objects.filter(id=event_id).first(), "event")
    return {
        "id": event.id,
        "customer_id": event.customer_id,
        "name": event.name,
        "payload": event.payload,
        "created_at": event.created_at,
        "executions": list(events.event_executions(event=event)),
    }
