"""Managing webhook endpoints: create (the secret is returned once), change, delete, enable,
and the two buttons of the delivery log, **Send test event** and **Redeliver**.

Views guard these with ``organization.manage_settings``; each write is audited in its own
transaction, and the deliveries they start are queued once it commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit import actions
from audit.services import audit_record
from customers.models import Organization
from dataplane import outbound
from dataplane.encryption import encrypt_credentials
from tenancy.context import scope_aliases
from tenancy.tasks import publish_on_commit
from webhooks import events, queued, signing
from webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

ENDPOINTS_PER_ORGANIZATION = 20
DISABLED = "This endpoint is disabled: enable it first."


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once, stored only encrypted


def _clean_url(url: str) -> str:
    """The outbound SSRF guard's static checks (https only; plain http only to localhost where
    ``OUTBOUND_ALLOW_HTTP_LOCALHOST`` allows it); every delivery checks the resolved address."""
    url = url.strip()
    try:
        outbound.check_url(url)
    except outbound.UnsafeURL as exc:
        raise ValidationError({"url": str(exc)}) from None
    return url


def _clean_event_types(event_types: list[str]) -> list[str]:
    chosen = sorted(set(event_types))
    if not chosen:
        raise ValidationError({"event_types": "Choose at least one event type."})
    unknown = [key for key in chosen if key not in events.EVENT_TYPES]
    if unknown:
        raise ValidationError({"event_types": f"Unknown event type: {', '.join(unknown)}."})
    return chosen


def _encrypted(secret: str) -> str:
    return encrypt_credentials({"secret": secret})


def _audit(acting_user: Any, action: str, endpoint: WebhookEndpoint, **change: Any) -> None:
    # The URL may carry a token of the receiver's: the audit keeps its host only.
    audit_record(
        actor=acting_user,
        action=action,
        target_type="webhook_endpoint",
        target_id=endpoint.id,
        **change,
    )


def _described(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"host": outbound.host_key(endpoint.url), "event_types": endpoint.event_types}


def webhook_endpoint_create(
    *,
    acting_user: Any,
    organization: Organization,
    url: str,
    event_types: list[str],
    description: str = "",
) -> CreatedEndpoint:
    url, chosen = _clean_url(url), _clean_event_types(event_types)
    secret = signing.secret_generate()
    with transaction.atomic(using=scope_aliases()[0]):
        Organization.objects.select_for_update().filter(id=organization.id).first()
        if WebhookEndpoint.objects.count() >= ENDPOINTS_PER_ORGANIZATION:
            raise ValidationError(
                f"An organization has at most {ENDPOINTS_PER_ORGANIZATION} webhook endpoints."
            )
        endpoint = WebhookEndpoint.objects.create(
            org=organization,
            url=url,
            description=description.strip(),
            event_types=chosen,
            secret_encrypted=_encrypted(secret),
            created_by=acting_user if getattr(acting_user, "pk", None) else None,
        )
        _audit(acting_user, actions.WEBHOOK_ENDPOINT_CREATE, endpoint, after=_described(endpoint))
    return CreatedEndpoint(endpoint, secret)


def webhook_endpoint_update(
    *,
    acting_user: Any,
    endpoint: WebhookEndpoint,
    url: str,
    event_types: list[str],
    description: str,
) -> WebhookEndpoint:
    url, chosen = _clean_url(url), _clean_event_types(event_types)
    before = _described(endpoint)
    endpoint.url, endpoint.event_types, endpoint.description = url, chosen, description.strip()
    endpoint.save(update_fields=["url", "event_types", "description"])
    _audit(
        acting_user,
        actions.WEBHOOK_ENDPOINT_UPDATE,
        endpoint,
        before=before,
        after=_described(endpoint),
    )
    return endpoint


def webhook_endpoint_delete(*, acting_user: Any, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint with its delivery log; deliveries in flight stop at their next step."""
    described = _described(endpoint)
    WebhookEndpoint.objects.filter(id=endpoint.id).delete()
    _audit(acting_user, actions.WEBHOOK_ENDPOINT_DELETE, endpoint, before=described)


def webhook_endpoint_enable(*, acting_user: Any, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Turn a disabled endpoint back on; its failure clock starts again."""
    locked = WebhookEndpoint.objects.select_for_update().get(id=endpoint.id)
    if locked.is_active:
        return locked
    locked.status, locked.failing_since = EndpointStatus.ACTIVE, None
    locked.disabled_at, locked.disabled_reason = None, ""
    locked.save(update_fields=["status", "failing_since", "disabled_at", "disabled_reason"])
    _audit(acting_user, actions.WEBHOOK_ENDPOINT_ENABLE, locked, after={"status": locked.status})
    return locked


def _queue(delivery: WebhookDelivery) -> None:
    publish_on_commit(
        queued.deliver, kwargs={"org_id": str(delivery.org_id), "delivery_id": str(delivery.id)}
    )


def webhook_endpoint_test(*, acting_user: Any, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send one ``webhook.test`` event to this endpoint only, tried once."""
    if not endpoint.is_active:
        raise ValidationError(DISABLED)
    now = timezone.now()
    event = WebhookEvent.objects.create(
        org_id=endpoint.org_id,
        event_type=events.TEST,
        data={"message": "A test event from Fastn Console.", "endpoint_id": str(endpoint.id)},
        dispatched_at=now,
    )
    delivery = WebhookDelivery.objects.create(
        org_id=endpoint.org_id, endpoint=endpoint, event=event, retries=False, next_attempt_at=now
    )
    _audit(acting_user, actions.WEBHOOK_ENDPOINT_TEST, endpoint, after={"event_id": str(event.id)})
    _queue(delivery)
    return delivery


def webhook_delivery_redeliver(*, acting_user: Any, delivery: WebhookDelivery) -> WebhookDelivery:
    """Deliver the same event again (same ``webhook-id``, so a receiver can tell), as a new
    delivery on the full retry schedule."""
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        raise ValidationError(DISABLED)
    if delivery.status == DeliveryStatus.PENDING:
        raise ValidationError("This delivery is still being tried; wait until it ends.")
    again = WebhookDelivery.objects.create(
        org_id=delivery.org_id,
        endpoint=endpoint,
        event_id=delivery.event_id,
        retries=delivery.retries,
        next_attempt_at=timezone.now(),
    )
    audit_record(
        actor=acting_user,
        action=actions.WEBHOOK_DELIVERY_REDELIVER,
        target_type="webhook_delivery",
        target_id=again.id,
        before={"delivery_id": str(delivery.id), "status": delivery.status},
        after={"event_id": str(delivery.event_id)},
    )
    _queue(again)
    return again
