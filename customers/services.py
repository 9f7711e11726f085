"""Writes for organizations and customers. Each runs inside a tenant scope and audits.

Deleting a customer or an organization is two steps (SPEC §3): the request sets the state
``deleting`` (hidden, every request refused) and queues a Celery task; the task's
``customer_purge`` / ``organization_purge`` remove the region rows first, then the control-plane
rows with their groups and grants. Both are idempotent, so the task can be retried.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Model, ProtectedError, QuerySet, RestrictedError
from django.utils import timezone

from audit.services import audit_record
from customers.domains import address_at_domain, registrable_email_domain
from customers.models import (
    Customer,
    CustomerStatus,
    Organization,
    OrganizationDeletion,
    OrganizationStatus,
    Plan,
)
from customers.slugs import unique_slug
from tenancy.context import ORGANIZATION, context, on_commit, require_scope, scope_aliases

logger = logging.getLogger(__name__)
DOMAIN_TOKEN_SALT = "customers.email-domain"
DOMAIN_TOKEN_MAX_AGE = 3 * 24 * 3600


def organization_create(
    *,
    name: str,
    owner: Any,
    slug: str | None = None,
    email_domain: str | None = None,
    plan_code: str = "free",
    default_region: str = "us",
    status: str = OrganizationStatus.ACTIVE,
) -> Organization:
    """Create an organization with its system roles and its Owner's membership.

    The organization's id is generated first and its context entered before the insert, because
    the policy lets ``fastn_app`` insert only the row of the organization in context.
    """
    from roles import catalog
    from roles.services import membership_create, roles_create_system

    org_id = uuid.uuid4()
    if not slug:
        slug = unique_slug(Organization.objects.all(), name)
    with context(org_id=org_id, role=ORGANIZATION, user_id=owner.pk):
        organization = Organization.objects.create(
            id=org_id,
            name=name,
            slug=slug,
            email_domain=email_domain,
            email_domain_verified=bool(email_domain),
            plan=Plan.objects.get(code=plan_code),
            default_region=default_region,
            owner=owner,
            status=status,
        )
        roles = roles_create_system(organization=organization)
        membership_create(organization=organization, user=owner, role=roles[catalog.OWNER])
        audit_record(
            actor=owner,
            action="organization.create",
            target_type="organization",
            target_id=organization.id,
            after={"name": name, "slug": slug, "plan": plan_code},
        )
    return organization


def _require_organization_in_scope(organization: Organization) -> None:
    if require_scope().org_id != organization.id:
        raise ValidationError("The organization is not the one in scope.")


def _external_id_taken(external_id: str, exclude: uuid.UUID | None = None) -> bool:
    customers = Customer.objects.filter(external_id=external_id)
    if exclude is not None:
        customers = customers.exclude(id=exclude)
    return customers.exists()


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
    from billing.services import count_limit_guard

    _require_organization_in_scope(organization)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Enter a name."})
    if status not in (CustomerStatus.ACTIVE, CustomerStatus.PENDING_ACTIVATION):
        raise ValidationError({"status": "A new customer is active or pending activation."})
    external_id = (external_id or "").strip() or None
    with transaction.atomic(using=scope_aliases()[0]):
        count_limit_guard(organization=organization, key="customers_per_org")
        if external_id and _external_id_taken(external_id):
            raise ValidationError({"external_id": "Another customer already has this external ID."})
        customer = Customer.objects.create(
            org=organization,
            name=name,
            slug=unique_slug(Customer.objects.all(), name),
            external_id=external_id,
            region=region or organization.default_region,
            status=status,
        )
        audit_record(
            actor=acting_user,
            action="customer.create",
            target_type="customer",
            target_id=customer.id,
            subject_customer_id=customer.id,
            after={"name": customer.name, "region": customer.region, "status": customer.status},
        )
    return customer


def customer_update(
    *, acting_user: Any, customer: Customer, name: str, external_id: str | None
) -> Customer:
    """Rename a customer (its slug follows the name) or change its external ID."""
    if customer.status == CustomerStatus.DELETING:
        raise ValidationError("This customer is being deleted.")
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Enter a name."})
    external_id = (external_id or "").strip() or None
    if external_id and _external_id_taken(external_id, exclude=customer.id):
        raise ValidationError({"external_id": "Another customer already has this external ID."})
    before = {"name": customer.name, "external_id": customer.external_id}
    if name != customer.name:
        customer.slug = unique_slug(Customer.objects.all(), name, exclude_id=customer.id)
    customer.name, customer.external_id = name, external_id
    try:
        with transaction.atomic(using=scope_aliases()[0]):
            customer.save(update_fields=["name", "slug", "external_id"])
    except IntegrityError:
        raise ValidationError(
            {"external_id": "Another customer already has this external ID."}
        ) from None
    audit_record(
        actor=acting_user,
        action="customer.update",
        target_type="customer",
        target_id=customer.id,
        subject_customer_id=customer.id,
        before=before,
        after={"name": name, "external_id": external_id},
    )
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
    audit_record(
        actor=acting_user,
        action="customer.activate" if status == CustomerStatus.ACTIVE else "customer.suspend",
        target_type="customer",
        target_id=locked.id,
        subject_customer_id=locked.id,
        before={"status": before},
        after={"status": status},
    )
    return locked


def customer_delete_request(*, acting_user: Any, customer: Customer) -> None:
    """Hide the customer at once (state ``deleting``); a retried task removes its data."""
    from customers.tasks import customer_purge_task

    locked = Customer.objects.select_for_update().get(id=customer.id)
    if locked.status == CustomerStatus.DELETING:
        return
    if locked.status == CustomerStatus.RELOCATING:
        raise ValidationError("Wait until the relocation has finished before deleting.")
    before = locked.status
    locked.status = CustomerStatus.DELETING
    locked.save(update_fields=["status"])
    audit_record(
        actor=acting_user,
        action="customer.delete.start",
        target_type="customer",
        target_id=locked.id,
        subject_customer_id=locked.id,
        before={"status": before, "name": locked.name, "region": locked.region},
        after={"status": CustomerStatus.DELETING},
    )
    org_id, customer_id = str(locked.org_id), str(locked.id)
    user_id = str(acting_user.pk) if getattr(acting_user, "pk", None) else None
    on_commit(
        lambda: customer_purge_task.delay(
            org_id=org_id, customer_id=customer_id, acting_user_id=user_id
        )
    )


def _data_plane_models() -> list[type[Model]]:
    from dataplane.models import Configuration, Connection, ExecutionLog, Workflow, WorkflowVersion

    # Children before parents: the composite foreign keys between them are not deferrable.
    return [ExecutionLog, Configuration, WorkflowVersion, Workflow, Connection]


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


def _remove_memberships(memberships: QuerySet[Any]) -> int:
    from django.contrib.auth.models import Group

    from roles.services import role_group_name

    count = 0
    for membership in memberships.select_related("role"):
        group = Group.objects.filter(name=role_group_name(membership.role)).first()
        if group is not None:
            group.user_set.remove(membership.user_id)
        membership.delete()
        count += 1
    return count


def customer_purge(*, customer_id: uuid.UUID, acting_user: Any = None) -> dict[str, int] | None:
    """Remove a ``deleting`` customer's region rows, then its control-plane rows.

    Runs in the customer's scope (the task enters it). ``None`` when nothing is left to do.
    """
    from api.models import UsageRecord
    from roles.models import Membership

    customer = Customer.objects.filter(id=customer_id).first()
    if customer is None:
        return None
    if customer.status != CustomerStatus.DELETING:
        raise ValidationError("Only a customer in the deleting state is purged.")
    removed: dict[str, int] = {}
    for model in _data_plane_models():
        removed[model._meta.model_name or ""] = _delete_all(model.objects.all())  # type: ignore[attr-defined]
    removed["memberships"] = _remove_memberships(
        Membership.objects.filter(restricted_customer_id=customer.id)
    )
    removed["usage_records"] = _delete_all(
        UsageRecord.objects.filter(subject_customer_id=customer.id)
    )
    removed["control_plane_rows"] = _delete_all(Customer.objects.filter(id=customer.id))
    audit_record(
        actor=acting_user,
        action="customer.delete.finish",
        target_type="customer",
        target_id=customer.id,
        subject_customer_id=customer.id,
        before={"name": customer.name, "region": customer.region},
        after={"removed": removed},
    )
    return removed


def organization_update(
    *, acting_user: Any, organization: Organization, name: str, default_region: str
) -> Organization:
    _require_organization_in_scope(organization)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Enter a name."})
    before = {"name": organization.name, "default_region": organization.default_region}
    organization.name, organization.default_region = name, default_region
    organization.save(update_fields=["name", "default_region"])
    audit_record(
        actor=acting_user,
        action="organization.update",
        target_type="organization",
        target_id=organization.id,
        before=before,
        after={"name": name, "default_region": default_region},
    )
    return organization


def _domain_taken(domain: str, organization: Organization) -> bool:
    return Organization.objects.filter(email_domain=domain).exclude(id=organization.id).exists()


def domain_token(*, organization: Organization, domain: str) -> str:
    return signing.dumps(
        {"org": str(organization.id), "domain": domain}, salt=DOMAIN_TOKEN_SALT, compress=True
    )


def domain_token_read(token: str) -> tuple[uuid.UUID, str]:
    """The organization and domain a verification link is for; ``ValidationError`` if the link
    was altered or has expired."""
    try:
        data = signing.loads(token, salt=DOMAIN_TOKEN_SALT, max_age=DOMAIN_TOKEN_MAX_AGE)
        return uuid.UUID(data["org"]), str(data["domain"])
    except signing.SignatureExpired:
        raise ValidationError(
            "This verification link has expired. Ask for a new one in Settings → General."
        ) from None
    except (signing.BadSignature, KeyError, ValueError, TypeError):
        raise ValidationError("This verification link is not valid.") from None


def organization_email_domain_request(
    *,
    acting_user: Any,
    organization: Organization,
    domain: str,
    address: str,
    build_link: Callable[[str], str],
) -> Organization:
    """Start a domain change: nothing changes until the emailed link is followed (or staff
    approve it). ``build_link`` turns the signed token into an absolute URL."""
    _require_organization_in_scope(organization)
    try:
        domain = registrable_email_domain(domain)
    except ValidationError as exc:
        raise ValidationError({"email_domain": exc.messages}) from None
    if domain == organization.email_domain:
        raise ValidationError({"email_domain": "This is already the organization's domain."})
    if _domain_taken(domain, organization):
        raise ValidationError({"email_domain": "Another organization already uses this domain."})
    address = address.strip().lower()
    if not address_at_domain(address, domain):
        raise ValidationError({"verification_email": f"Enter an address ending in @{domain}."})
    organization.pending_email_domain = domain
    organization.pending_email_domain_sent_to = address
    organization.save(update_fields=["pending_email_domain", "pending_email_domain_sent_to"])
    audit_record(
        actor=acting_user,
        action="organization.email_domain.request",
        target_type="organization",
        target_id=organization.id,
        before={"email_domain": organization.email_domain},
        after={"pending_email_domain": domain, "sent_to": address},
    )
    link = build_link(domain_token(organization=organization, domain=domain))
    body = (
        f"{acting_user.email} asked to set {domain} as the email domain of "
        f"{organization.name} on Fastn Console.\n\nConfirm it here (the link expires in 3 days):"
        f"\n{link}\n\nIf you did not expect this, ignore this message: nothing changes."
    )
    on_commit(
        lambda: send_mail(
            f"Confirm {domain} for {organization.name}",
            body,
            settings.DEFAULT_FROM_EMAIL,
            [address],
        )
    )
    return organization


def organization_email_domain_cancel(*, acting_user: Any, organization: Organization) -> None:
    _require_organization_in_scope(organization)
    if not organization.pending_email_domain:
        return
    pending = organization.pending_email_domain
    organization.pending_email_domain = organization.pending_email_domain_sent_to = ""
    organization.save(update_fields=["pending_email_domain", "pending_email_domain_sent_to"])
    audit_record(
        actor=acting_user,
        action="organization.email_domain.cancel",
        target_type="organization",
        target_id=organization.id,
        before={"pending_email_domain": pending},
    )


def _apply_pending_domain(organization: Organization, domain: str) -> dict[str, Any]:
    if organization.pending_email_domain != domain:
        raise ValidationError(
            "This link is for a domain change that was cancelled or replaced by a newer one."
        )
    if _domain_taken(domain, organization):
        raise ValidationError("Another organization has claimed this domain in the meantime.")
    before = {"email_domain": organization.email_domain}
    organization.email_domain = domain
    organization.email_domain_verified = True
    organization.pending_email_domain = organization.pending_email_domain_sent_to = ""
    try:
        with transaction.atomic(using=organization._state.db or "default"):
            organization.save(
                update_fields=[
                    "email_domain",
                    "email_domain_verified",
                    "pending_email_domain",
                    "pending_email_domain_sent_to",
                ]
            )
    except IntegrityError:
        raise ValidationError(
            "Another organization has claimed this domain in the meantime."
        ) from None
    return before


def organization_email_domain_confirm(*, acting_user: Any, token: str) -> Organization:
    """Apply a domain change from its emailed link. Runs in the organization's scope."""
    org_id, domain = domain_token_read(token)
    if require_scope().org_id != org_id:
        raise ValidationError("This verification link is for another organization.")
    organization = Organization.objects.select_for_update().get(id=org_id)
    before = _apply_pending_domain(organization, domain)
    audit_record(
        actor=acting_user,
        action="organization.email_domain.verified",
        target_type="organization",
        target_id=organization.id,
        before=before,
        after={"email_domain": domain, "via": "email link"},
    )
    return organization


def _platform_audit(
    *,
    organization: Organization,
    actor: Any,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """Staff work in the platform scope, which has no organization: name it explicitly."""
    audit_record(
        org_id=organization.id,
        actor=actor,
        actor_label=f"{actor.email} (Fastn staff)",
        action=action,
        target_type="organization",
        target_id=organization.id,
        before=before,
        after=after,
    )


def organization_email_domain_approve(*, acting_user: Any, organization: Organization) -> None:
    """Staff approve a pending domain change without the emailed link (platform scope)."""
    if not require_scope().platform:
        raise ValidationError("Only Fastn staff approve a domain change without its link.")
    domain = organization.pending_email_domain
    if not domain:
        raise ValidationError(f"{organization.name} has no pending domain change.")
    before = _apply_pending_domain(organization, domain)
    _platform_audit(
        organization=organization,
        actor=acting_user,
        action="organization.email_domain.verified",
        before=before,
        after={"email_domain": domain, "via": "staff approval"},
    )


def organization_staff_change(
    *, acting_user: Any, organization: Organization, changes: dict[str, Any]
) -> None:
    """Staff change an organization's plan or status in the admin (platform scope)."""
    if not require_scope().platform:
        raise ValidationError("Only Fastn staff change plans and statuses here.")
    before = {key: getattr(organization, f"{key}_id" if key == "plan" else key) for key in changes}
    for key, value in changes.items():
        setattr(organization, key, value)
    organization.save(update_fields=list(changes))
    _platform_audit(
        organization=organization,
        actor=acting_user,
        action="organization.staff_change",
        before={k: str(v) for k, v in before.items()},
        after={k: getattr(v, "code", str(v)) for k, v in changes.items()},
    )


def organization_delete_request(*, acting_user: Any, organization: Organization) -> None:
    """Hide the organization at once (state ``deleting``); a retried task removes everything.

    The caller has checked that ``acting_user`` is the Owner and typed the name.
    """
    from customers.tasks import organization_purge_task

    _require_organization_in_scope(organization)
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
    audit_record(
        actor=acting_user,
        action="organization.delete.start",
        target_type="organization",
        target_id=locked.id,
        before={"status": before},
        after={"status": OrganizationStatus.DELETING},
    )
    org_id = str(locked.id)
    user_id = str(acting_user.pk) if getattr(acting_user, "pk", None) else None
    on_commit(lambda: organization_purge_task.delay(org_id=org_id, acting_user_id=user_id))


def organization_purge(*, organization_id: uuid.UUID) -> dict[str, int] | None:
    """Remove a ``deleting`` organization: every region's rows, then the control plane.

    Runs in the organization's scope (the task enters it). The organization's own audit log goes
    with it, so the finish is recorded on its ``OrganizationDeletion`` row.
    """
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import GroupObjectPermission, UserObjectPermission

    from roles.models import Membership
    from tenancy.context import region_runtime_aliases

    organization = Organization.objects.filter(id=organization_id).first()
    if organization is None:
        return None
    if organization.status != OrganizationStatus.DELETING:
        raise ValidationError("Only an organization in the deleting state is purged.")
    removed: dict[str, int] = {}
    for alias in dict.fromkeys(region_runtime_aliases().values()):
        for model in _data_plane_models():
            name = model._meta.model_name or ""
            removed[name] = removed.get(name, 0) + _delete_all(
                model.objects.using(alias).all()  # type: ignore[attr-defined]
            )
    removed["memberships"] = _remove_memberships(Membership.objects.all())
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
