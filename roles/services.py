"""Roles, memberships and their django-guardian grants (SPEC §4)."""

from __future__ import annotations

from django.contrib.auth.models import Group
from guardian.models import GroupObjectPermission
from guardian.shortcuts import assign_perm

from customers.models import Customer, Organization
from roles import catalog
from roles.models import Membership, Role
from tenancy.context import require_scope


def role_group_name(role: Role) -> str:
    """Opaque: ids only, no names (groups have no row-level security)."""
    return f"org:{role.org_id}:role:{role.id}"


def role_sync_grants(*, role: Role) -> Group:
    """Make the role's group hold exactly the role's permissions on its organization."""
    group, _ = Group.objects.get_or_create(name=role_group_name(role))
    organization = Organization.objects.get(id=role.org_id)
    GroupObjectPermission.objects.filter(group=group, object_pk=str(organization.pk)).delete()
    for key in sorted(set(role.permissions) & catalog.ALL_KEYS):
        assign_perm(f"customers.{catalog.codename(key)}", group, organization)
    return group


def roles_create_system(*, organization: Organization) -> dict[str, Role]:
    """The six system roles of a new organization, with their grants."""
    require_scope()
    created: dict[str, Role] = {}
    for system_role in catalog.SYSTEM_ROLES:
        role = Role.objects.create(
            org=organization,
            name=system_role.name,
            description=system_role.description,
            is_system=True,
            system_key=system_role.key,
            customer_restricted=system_role.customer_restricted,
            permissions=sorted(system_role.permissions),
        )
        role_sync_grants(role=role)
        created[system_role.key] = role
    return created


def membership_create(
    *,
    organization: Organization,
    user: object,
    role: Role,
    restricted_customer: Customer | None = None,
) -> Membership:
    if role.customer_restricted and restricted_customer is None:
        raise ValueError(f"The {role.name} role is always restricted to one customer.")
    membership = Membership.objects.create(
        org=organization, user=user, role=role, restricted_customer=restricted_customer
    )
    group = Group.objects.get(name=role_group_name(role))
    group.user_set.add(membership.user)
    return membership
