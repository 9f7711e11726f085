"""Inbound webhooks (SPEC §11 "Triggers"): a per-customer URL, with its own signing secret, that
turns a signed delivery into one of the customer's events and starts the workflows it triggers.

``POST /hooks/<org slug>/<customer id>/<event name>`` (``api.inbound``) carries the event's
payload, a JSON object of at most 256 KB, signed the Standard Webhooks way with the customer's
secret (``webhooks.signing``: the ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` headers, what any Standard Webhooks library sends). ``inbound_accept``
checks it in this order — a secret exists (otherwise the URL does not: 404), the timestamp is
within ``TOLERANCE_SECONDS`` of now, a signature matches, the message id was not accepted
before (``REPLAY_WINDOW_SECONDS``: a sender's retry is answered as a duplicate, stored once),
the payload, the plan's event limits (counted like API events) — then stores the event and
queues the runs whose version deployed to prod names
the event as a trigger (``trigger`` ``webhook``). A refusal stores nothing.

The secret (``whsec_…``) is created or rotated by ``inbound_secret_rotate`` and shown once; it
is kept encrypted on the customer row (``Customer.inbound_secret_encrypted``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError

from audit import actions
from audit.services import audit_customer
from build.deploys import PROD
from customers.models import Customer, Organization
from dataplane import events
from dataplane.definitions import EVENT_NAME_MAX_LENGTH
from dataplane.encryption import decrypt_credentials, encrypt_credentials
from dataplane.models import Event, RunTrigger
from dataplane.services.primitives import require_writable_customer_scope
from dataplane.services.triggers import event_runs_queue
from webhooks import signing

TOLERANCE_SECONDS = 5 * 60
REPLAY_WINDOW_SECONDS = 2 * TOLERANCE_SECONDS


class InboundRefused(Exception):
    """A delivery refused: the HTTP ``status``, the API error ``code`` and a ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Accepted:
    event: Event | None  # None: a duplicate of a delivery accepted before
    runs: int = 0


def inbound_secret_rotate(
    *, acting_user: Any, organization: Organization, customer: Customer
) -> str:
    """A new signing secret for ``customer``'s inbound webhook (the old one stops working at
    once); returned to be shown once, stored encrypted, audited without its value."""
    require_writable_customer_scope(organization=organization, customer=customer)
    replaced = bool(customer.inbound_secret_encrypted)
    secret = signing.secret_generate()
    customer.inbound_secret_encrypted = encrypt_credentials({"secret": secret})
    Customer.objects.filter(id=customer.id).update(
        inbound_secret_encrypted=customer.inbound_secret_encrypted
    )
    audit_customer(
        actor=acting_user,
        action=actions.CUSTOMER_INBOUND_SECRET_ROTATE,
        customer_id=customer.id,
        after={"replaced": replaced},
    )
    return secret


def _checked_signature(secret: str, headers: Mapping[str, str], body: bytes) -> str:
    """The delivery's message id, once its timestamp and signature hold."""
    message_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signature = headers.get("webhook-signature", "")
    if not (message_id and stamp and signature):
        raise InboundRefused(
            401,
            "invalid_signature",
            "Sign the delivery: webhook-id, webhook-timestamp and webhook-signature are required.",
        )
    timestamp = int(stamp) if stamp.isdigit() else None
    if timestamp is None or abs(time.time() - timestamp) > TOLERANCE_SECONDS:
        raise InboundRefused(
            401,
            "invalid_signature",
            "webhook-timestamp must be Unix seconds within "
            f"{TOLERANCE_SECONDS // 60} minutes of now.",
        )
    if not signing.verify(
        secret=secret, message_id=message_id, timestamp=timestamp, body=body, header=signature
    ):
        raise InboundRefused(401, "invalid_signature", "No signature matches the secret.")
    return message_id


def _payload(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise InboundRefused(400, events.INVALID_PAYLOAD, "The body is not JSON.") from None


def inbound_accept(
    *,
    organization: Organization,
    customer: Customer,
    event_name: str,
    headers: Mapping[str, str],
    body: bytes,
    admit: Callable[[], None] = lambda: None,
) -> Accepted:
    """Check a delivery to ``customer``'s inbound webhook, in the customer's scope, and store
    it as an event with the runs it triggers; ``InboundRefused`` stores nothing. ``admit`` is
    called once the delivery holds and is not a duplicate, before it is stored: it counts the
    event against the plan's limits and raises to refuse it (``api.inbound``)."""
    secret = decrypt_credentials(customer.inbound_secret_encrypted).get("secret")
    if not secret:
        raise InboundRefused(404, "not_found", "Not found.")
    message_id = _checked_signature(secret, headers, body)
    if not 0 < len(event_name) <= EVENT_NAME_MAX_LENGTH:
        raise InboundRefused(
            400, "invalid_request", f"The event name is 1 to {EVENT_NAME_MAX_LENGTH} characters."
        )
    try:
        drafts = events.event_drafts([(event_name, _payload(body))])
    except ValidationError as refused:
        status = 413 if refused.code == events.PAYLOAD_TOO_LARGE else 400
        raise InboundRefused(status, str(refused.code), " ".join(refused.messages)) from None
    replay_key = f"inbound:{customer.id}:{message_id}"
    try:
        first = cache.add(replay_key, 1, REPLAY_WINDOW_SECONDS)
    except Exception:  # noqa: BLE001 - without the cache a retry may be stored twice
        first = True
    if not first:
        return Accepted(None)
    try:
        admit()
        (event,) = events.events_record(customer=customer, drafts=drafts)
        runs = event_runs_queue(
            acting_user=None,
            organization=organization,
            customer=customer,
            events=[event],
            environment=PROD,
            trigger=RunTrigger.WEBHOOK,
        )
    except Exception:
        cache.delete(replay_key)  # not stored (or refused): the sender's retry must be taken
        raise
    return Accepted(event, len(runs))
