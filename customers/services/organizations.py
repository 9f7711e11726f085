"""Creating an organization, its general settings, and staff changes from the admin."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError

from audit import actions
from audit.services import audit_organization, audit_record
from customers.models import Organization, OrganizationStatus, Plan
from customers.slugs import unique_slug
from roles import catalog
from roles.services import membership_create, roles_create_system
from tenancy.context import ORGANIZATION, context, require_scope


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
        audit_organization(
            actor=owner,
            action=actions.ORGANIZATION_CREATE,
            organization_id=organization.id,
            after={"name": name, "slug": slug, "plan": plan_code},
        )
    return organization


def require_organization_in_scope(organization: Organization) -> None:
    if require_scope().org_id != organization.id:
        raise ValidationError("The organization is not the one in scope.")


def organization_update(
    *, acting_user: Any, organization: Organization, name: str, default_region: str
) -> Organization:
    require_organization_in_scope(organization)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Enter a name."})
    before = {"name": organization.name, "default_region": organization.default_region}
    organization.name, organization.default_region = name, default_region
    organization.save(update_fields=["name", "default_region"])
    audit_organization(
        actor=acting_user,
        action=actions.ORGANIZATION_UPDATE,
        organization_id=organization.id,
        before=before,
        after={"name": name, "default_region": default_region},
    )
    return organization


def platform_audit(
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
    platform_audit(
        organization=organization,
        actor=acting_user,
        action=actions.ORGANIZATION_STAFF_CHANGE,
        before={k: str(v) for k, v in before.items()},
        after={k: getattr(v, "code", str(v)) for k, v in changes.items()},
    )
