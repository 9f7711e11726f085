"""An organization's customers: creation under the plan's cap, edits, activation."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from audit import actions
from audit.services import audit_customer
from billing.services import count_limit_guard
from customers.models import Customer, CustomerStatus, Organization
from customers.services.organizations import require_organization_in_scope
from customers.slugs import unique_slug
from tenancy.context import scope_aliases
from webhooks import events as webhook_events
from webhooks.services import customer_event_record

EXTERNAL_ID_TAKEN = "Another customer already has this external ID."


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
) -> Customer:
    """Create a customer, checking the plan's customer cap under a lock on the organization."""
    require_organization_in_scope(organization)
    name = _clean_name(name)
    if status not in (CustomerStatus.ACTIVE, CustomerStatus.PENDING_ACTIVATION):
        raise ValidationError({"status": "A new customer is active or pending activation."})
    external_id = (external_id or "").strip() or None
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
        )
        audit_customer(
            actor=acting_user,
            action=actions.CUSTOMER_CREATE,
            customer_id=customer.id,
            after={"name": customer.name, "region": customer.region, "status": customer.status},
        )
        customer_event_record(event_type=webhook_events.CUSTOMER_CREATED, customer=customer)
    return customer


def customer_update(
    *, acting_user: Any, customer: Customer, name: str, external_id: str | None
) -> Customer:
    """Rename a customer (its slug follows the name) or change its external ID."""
    if customer.status == CustomerStatus.DELETING:
        raise ValidationError("This customer is being deleted.")
    name = _clean_name(name)
    external_id = (external_id or "").strip() or None
    if external_id and _external_id_taken(external_id, exclude=customer.id):
        raise ValidationError({"external_id": EXTERNAL_ID_TAKEN})
    before = {"name": customer.name, "external_id": customer.external_id}
    if name != customer.name:
        customer.slug = unique_slug(Customer.objects.all(), name, exclude_id=customer.id)
    customer.name, customer.external_id = name, external_id
    try:
        with transaction.atomic(using=scope_aliases()[0]):
            customer.save(update_fields=["name", "slug", "external_id"])
    except IntegrityError:
        raise ValidationError({"external_id": EXTERNAL_ID_TAKEN}) from None
    audit_customer(
        actor=acting_user,
        action=actions.CUSTOMER_UPDATE,
        customer_id=customer.id,
        before=before,
        after={"name": name, "external_id": external_id},
    )
    customer_event_record(event_type=webhook_events.CUSTOMER_UPDATED, customer=customer)
    return customer


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
