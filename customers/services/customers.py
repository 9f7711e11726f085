"""An organization's customers: creation under the plan's cap, edits, activation."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from audit import actions
from audit.services import audit_customer
from billing.services import count_limit_guard
from customers.labels import labels_check, metadata_check
from customers.models import Customer, CustomerStatus, Organization
from customers.selectors import customer_by_external_id
from customers.services.organizations import require_organization_in_scope
from customers.slugs import unique_slug
from tenancy.context import scope_aliases
from webhooks import events as webhook_events
from webhooks.services import customer_event_record

EXTERNAL_ID_TAKEN = "Another customer already has this external ID."
UPSERT_CREATED, UPSERT_UPDATED, UPSERT_UNCHANGED = "created", "updated", "unchanged"


def _external_id_taken(external_id: str, exclude: uuid.UUID | None = None) -> bool:
    customers = Customer.objects.filter(external_id=external_id)
    if exclude is not None:
        customers = customers.exclude(id=exclude)
    return customers.exists()


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Enter a name."})
    return name


def customer_create(
    *,
    acting_user: Any,
    organization: Organization,
    name: str,
    external_id: str | None = None,
    region: str | None = None,
    status: str = CustomerStatus.ACTIVE,
    labels: dict[str, str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Customer:
    """Create a customer, checking the plan's customer cap under a lock on the organization."""
    require_organization_in_scope(organization)
    name = _clean_name(name)
    if status not in (CustomerStatus.ACTIVE, CustomerStatus.PENDING_ACTIVATION):
        raise ValidationError({"status": "A new customer is active or pending activation."})
    external_id = (external_id or "").strip() or None
    labels, metadata = _checked_attributes(labels or {}, metadata or {})
    with transaction.atomic(using=scope_aliases()[0]):
        count_limit_guard(organization=organization, key="customers_per_org")
        if external_id and _external_id_taken(external_id):
            raise ValidationError({"external_id": EXTERNAL_ID_TAKEN})
        customer = Customer.objects.create(
            org=organization,
            name=name,
            slug=unique_slug(Customer.objects.all(), name),
            external_id=external_id,
            region=region or organization.default_region,
            status=status,
            labels=labels,
            metadata=metadata,
        )
        audit_customer(
            actor=acting_user,
            action=actions.CUSTOMER_CREATE,
            customer_id=customer.id,
            after={
                "name": customer.name,
                "region": customer.region,
                "status": customer.status,
                "labels": labels,
            },
        )
        customer_event_record(event_type=webhook_events.CUSTOMER_CREATED, customer=customer)
    return customer


def _checked_attributes(
    labels: dict[str, str], metadata: dict[str, Any]
) -> tuple[dict[str, str], dict[str, Any]]:
    """Labels and metadata by ``customers.labels``' rules, errors named by field."""
    errors: dict[str, list[str]] = {}
    try:
        labels = labels_check(labels)
    except ValidationError as exc:
        errors["labels"] = exc.messages
    try:
        metadata = metadata_check(metadata)
    except ValidationError as exc:
        errors["metadata"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return labels, metadata


def _attributes(customer: Customer) -> dict[str, Any]:
    return {
        "name": customer.name,
        "external_id": customer.external_id,
        "labels": customer.labels,
        "metadata": customer.metadata,
    }


def customer_update(
    *,
    acting_user: Any,
    customer: Customer,
    name: str,
    external_id: str | None,
    labels: dict[str, str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Customer:
    """Rename a customer (its slug follows the name), change its external ID, labels or
    metadata (``None``: left as they are). Nothing changed, nothing written or audited."""
    if customer.status == CustomerStatus.DELETING:
        raise ValidationError("This customer is being deleted.")
    name = _clean_name(name)
    external_id = (external_id or "").strip() or None
    labels, metadata = _checked_attributes(
        customer.labels if labels is None else labels,
        customer.metadata if metadata is None else metadata,
    )
    before = _attributes(customer)
    after = {"name": name, "external_id": external_id, "labels": labels, "metadata": metadata}
    if after == before:
        return customer
    if external_id and _external_id_taken(external_id, exclude=customer.id):
        raise ValidationError({"external_id": EXTERNAL_ID_TAKEN})
    if name != customer.name:
        customer.slug = unique_slug(Customer.objects.all(), name, exclude_id=customer.id)
    customer.name, customer.external_id = name, external_id
    customer.labels, customer.metadata = labels, metadata
    try:
        with transaction.atomic(using=scope_aliases()[0]):
            customer.save(update_fields=["name", "slug", "external_id", "labels", "metadata"])
    except IntegrityError:
        raise ValidationError({"external_id": EXTERNAL_ID_TAKEN}) from None
    changed = [key for key in after if after[key] != before[key]]
    audit_customer(
        actor=acting_user,
        action=actions.CUSTOMER_UPDATE,
        customer_id=customer.id,
        before={key: before[key] for key in changed},
        after={key: after[key] for key in changed},
    )
    customer_event_record(event_type=webhook_events.CUSTOMER_UPDATED, customer=customer)
    return customer


def customer_upsert_by_external_id(
    *,
    acting_user: Any,
    organization: Organization,
    external_id: str,
    name: str,
    region: str | None = None,
    status: str | None = None,
    labels: dict[str, str] | None = None,
    metadata: dict[str, Any] | None = None,
    existing: Customer | None = None,
) -> tuple[Customer, str]:
    """Create the customer with this external ID, or bring the existing one up to date.

    Returns the customer and what happened: ``created``, ``updated`` or ``unchanged``. The same
    input twice gives the same customer (the import and ``PUT /customers/by-external-id/…``
    rely on it). Moving a customer to another region is a relocation, not an update; a status
    given for an existing customer is applied as an activation or suspension. Pass
    ``existing`` when the caller has already looked the customer up (and checked its
    permission on it).
    """
    external_id = (external_id or "").strip()
    if not external_id:
        raise ValidationError({"external_id": "Enter an external ID."})
    given: dict[str, Any] = {
        "acting_user": acting_user,
        "name": name,
        "external_id": external_id,
        "labels": labels,
        "metadata": metadata,
    }
    with transaction.atomic(using=scope_aliases()[0]):
        current = existing or customer_by_external_id(external_id)
        if current is None:
            status = status or CustomerStatus.ACTIVE
            created = customer_create(
                organization=organization, region=region, status=status, **given
            )
            return created, UPSERT_CREATED
        current = Customer.objects.select_for_update().get(id=current.id)
        if region and region != current.region:
            raise ValidationError(
                {
                    "region": f"This customer's data is stored in {current.get_region_display()}; "
                    "moving it is a relocation (the customer's Residency tab)."
                }
            )
        before = (_attributes(current), current.status)
        updated = customer_update(customer=current, **given)
        if status and status != updated.status:
            updated = customer_status_change(
                acting_user=acting_user, customer=updated, status=status
            )
        outcome = (
            UPSERT_UNCHANGED if before == (_attributes(updated), updated.status) else UPSERT_UPDATED
        )
        return updated, outcome


STATUS_CHANGES = {
    CustomerStatus.ACTIVE: (CustomerStatus.PENDING_ACTIVATION, CustomerStatus.SUSPENDED),
    CustomerStatus.SUSPENDED: (CustomerStatus.PENDING_ACTIVATION, CustomerStatus.ACTIVE),
}


def customer_status_change(*, acting_user: Any, customer: Customer, status: str) -> Customer:
    """Activate or suspend. Relocating and deleting customers keep their state."""
    allowed_from = STATUS_CHANGES.get(CustomerStatus(status))
    if allowed_from is None:
        raise ValidationError("A customer can only be activated or suspended here.")
    locked = Customer.objects.select_for_update().get(id=customer.id)
    if locked.status == status:
        return locked
    if locked.status not in allowed_from:
        raise ValidationError(
            f"A {locked.get_status_display().lower()} customer cannot change to {status}."
        )
    before = locked.status
    locked.status = status
    locked.save(update_fields=["status"])
    audit_customer(
        actor=acting_user,
        action=actions.CUSTOMER_ACTIVATE
        if status == CustomerStatus.ACTIVE
        else actions.CUSTOMER_SUSPEND,
        customer_id=locked.id,
        before={"status": before},
        after={"status": status},
    )
    customer_event_record(
        event_type=webhook_events.CUSTOMER_ACTIVATED
        if status == CustomerStatus.ACTIVE
        else webhook_events.CUSTOMER_SUSPENDED,
        customer=locked,
    )
    return locked
