"""Deleting a customer or an organization: two steps (SPEC §3).

The request sets the state ``deleting`` (hidden, every request refused) and queues a Celery
task; the task's ``customer_purge`` / ``organization_purge`` remove the region rows first, then
the control-plane rows with their groups and grants. Both are idempotent, so the task can be
retried.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import Model, ProtectedError, QuerySet, RestrictedError
from django.utils import timezone
from guardian.models import GroupObjectPermission, UserObjectPermission

from api.models import UsageRecord
from audit import actions
from audit.services import audit_customer, audit_organization
from customers.models import (
    Customer,
    CustomerStatus,
    Organization,
    OrganizationDeletion,
    OrganizationStatus,
)
from customers.services.organizations import require_organization_in_scope
from dataplane.models import Configuration, Connection, Event, ExecutionLog, Workflow
from roles.models import Membership
from roles.services import membership_groups_leave
from tenancy.context import region_runtime_aliases
from tenancy.tasks import publish_on_commit
from webhooks import events as webhook_events
from webhooks.services import customer_event_record

logger = logging.getLogger(__name__)

# Children before parents: the composite foreign keys between them are not deferrable.
DATA_PLANE_MODELS: tuple[type[Model], ...] = (
    ExecutionLog,
    Event,
    Configuration,
    Workflow,
    Connection,
)


def _actor_id(acting_user: Any) -> str | None:
    return str(acting_user.pk) if getattr(acting_user, "pk", None) else None


def customer_delete_request(*, acting_user: Any, customer: Customer) -> None:
    """Hide the customer at once (state ``deleting``); a retried task removes its data."""
    from customers.tasks import customer_purge_task  # the tasks module imports the services

    locked = Customer.objects.select_for_update().get(id=customer.id)
    if locked.status == CustomerStatus.DELETING:
        return
    if locked.status == CustomerStatus.RELOCATING:
        raise ValidationError("Wait until the relocation has finished before deleting.")
    before = locked.status
    locked.status = CustomerStatus.DELETING
    locked.save(update_fields=["status"])
    audit_customer(
        actor=acting_user,
        action=actions.CUSTOMER_DELETE_START,
        customer_id=locked.id,
        before={"status": before, "name": locked.name, "region": locked.region},
        after={"status": CustomerStatus.DELETING},
    )
    customer_event_record(event_type=webhook_events.CUSTOMER_DELETED, customer=locked)
    org_id, customer_id = str(locked.org_id), str(locked.id)
    user_id = _actor_id(acting_user)
    publish_on_commit(
        customer_purge_task,
        kwargs={"org_id": org_id, "customer_id": customer_id, "acting_user_id": user_id},
    )


def _delete_all(queryset: QuerySet[Any]) -> int:
    """Delete rows, first removing whatever protects them (rows of the same tenant)."""
    for _ in range(10):
        try:
            deleted, _ = queryset.delete()
            return deleted
        except (ProtectedError, RestrictedError) as exc:
            blockers = (
                exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
            )
            by_model: dict[type[Model], list[Any]] = {}
            for obj in blockers:
                by_model.setdefault(type(obj), []).append(obj.pk)
            for model, pks in by_model.items():
                _delete_all(model._base_manager.using(queryset.db).filter(pk__in=pks))
    raise RuntimeError(f"Could not delete {queryset.model.__name__} rows: still protected.")


def _delete_data_plane(removed: dict[str, int], alias: str | None = None) -> None:
    """Every data-plane row in scope (on ``alias``, or wherever the scope routes), counted into
    ``removed`` by model."""
    for model in DATA_PLANE_MODELS:
        manager = model.objects  # type: ignore[attr-defined]
        rows = manager.using(alias).all() if alias else manager.all()
        name = model._meta.model_name or ""
        removed[name] = removed.get(name, 0) + _delete_all(rows)


def customer_purge(*, customer_id: uuid.UUID, acting_user: Any = None) -> dict[str, int] | None:
    """Remove a ``deleting`` customer's region rows, then its control-plane rows.

    Runs in the customer's scope (the task enters it). ``None`` when nothing is left to do.
    """
    customer = Customer.objects.filter(id=customer_id).first()
    if customer is None:
        return None
    if customer.status != CustomerStatus.DELETING:
        raise ValidationError("Only a customer in the deleting state is purged.")
    removed: dict[str, int] = {}
    _delete_data_plane(removed)
    removed["memberships"] = membership_groups_leave(
        Membership.objects.filter(restricted_customer_id=customer.id)
    )
    removed["usage_records"] = _delete_all(
        UsageRecord.objects.filter(subject_customer_id=customer.id)
    )
    removed["control_plane_rows"] = _delete_all(Customer.objects.filter(id=customer.id))
    audit_customer(
        actor=acting_user,
        action=actions.CUSTOMER_DELETE_FINISH,
        customer_id=customer.id,
        before={"name": customer.name, "region": customer.region},
        after={"removed": removed},
    )
    return removed


def organization_delete_request(*, acting_user: Any, organization: Organization) -> None:
    """Hide the organization at once (state ``deleting``); a retried task removes everything.

    The caller has checked that ``acting_user`` is the Owner and typed the name.
    """
    from customers.tasks import organization_purge_task  # the tasks module imports the services

    require_organization_in_scope(organization)
    locked = Organization.objects.select_for_update().get(id=organization.id)
    if locked.status == OrganizationStatus.DELETING:
        return
    before = locked.status
    locked.status = OrganizationStatus.DELETING
    locked.save(update_fields=["status"])
    OrganizationDeletion.objects.get_or_create(
        former_org_id=locked.id,
        defaults={
            "name": locked.name,
            "slug": locked.slug,
            "requested_by_email": getattr(acting_user, "email", ""),
        },
    )
    audit_organization(
        actor=acting_user,
        action=actions.ORGANIZATION_DELETE_START,
        organization_id=locked.id,
        before={"status": before},
        after={"status": OrganizationStatus.DELETING},
    )
    org_id = str(locked.id)
    user_id = _actor_id(acting_user)
    publish_on_commit(organization_purge_task, kwargs={"org_id": org_id, "acting_user_id": user_id})


def organization_purge(*, organization_id: uuid.UUID) -> dict[str, int] | None:
    """Remove a ``deleting`` organization: every region's rows, then the control plane.

    Runs in the organization's scope (the task enters it). The organization's own audit log goes
    with it, so the finish is recorded on its ``OrganizationDeletion`` row.
    """
    organization = Organization.objects.filter(id=organization_id).first()
    if organization is None:
        return None
    if organization.status != OrganizationStatus.DELETING:
        raise ValidationError("Only an organization in the deleting state is purged.")
    removed: dict[str, int] = {}
    for alias in dict.fromkeys(region_runtime_aliases().values()):
        _delete_data_plane(removed, alias)
    removed["memberships"] = membership_groups_leave(Membership.objects.all())
    content_type = ContentType.objects.get_for_model(Organization)
    for grants in (GroupObjectPermission, UserObjectPermission):
        grants.objects.filter(content_type=content_type, object_pk=str(organization.id)).delete()
    removed["groups"] = Group.objects.filter(name__startswith=f"org:{organization.id}:").delete()[0]
    removed["control_plane_rows"] = _delete_all(Organization.objects.filter(id=organization.id))
    OrganizationDeletion.objects.filter(former_org_id=organization.id).update(
        finished_at=timezone.now(), removed=removed
    )
    logger.info("organization.delete.finish %s removed=%s", organization.id, removed)
    return removed
