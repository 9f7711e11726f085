"""Writes for organizations and customers. Each runs inside a tenant scope and audits."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.text import slugify

from audit.services import audit_record
from customers.models import Customer, CustomerStatus, Organization, OrganizationStatus, Plan
from tenancy.context import ORGANIZATION, context, require_scope


def _unique_slug(base: str, taken: set[str], *, max_length: int) -> str:
    root = (slugify(base) or "item")[: max_length - 5]
    slug, counter = root, 2
    while slug in taken:
        slug = f"{root}-{counter}"
        counter += 1
    return slug


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
    slug = slug or _unique_slug(
        name, set(Organization.objects.values_list("slug", flat=True)), max_length=60
    )
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


def customer_create(
    *,
    acting_user: Any,
    organization: Organization,
    name: str,
    external_id: str | None = None,
    region: str | None = None,
    status: str = CustomerStatus.ACTIVE,
) -> Customer:
    scope = require_scope()
    if scope.org_id != organization.id:
        raise ValidationError("The customer's organization is not the one in scope.")
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Enter a name."})
    external_id = (external_id or "").strip() or None
    if external_id and Customer.objects.filter(external_id=external_id).exists():
        raise ValidationError({"external_id": "Another customer already has this external ID."})
    taken = set(Customer.objects.filter(slug__startswith=slugify(name)[:70]).values_list(
        "slug", flat=True))
    customer = Customer.objects.create(
        org=organization,
        name=name,
        slug=_unique_slug(name, taken, max_length=80),
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
