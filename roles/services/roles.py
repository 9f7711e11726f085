"""System roles of a new organization, and the custom roles members create (SPEC §4)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from audit import actions
from customers.models import Organization
from roles import catalog
from roles.models import InvitationStatus, Membership, Role
from roles.selectors import has_permission
from roles.services.checks import acting_member, audit_row, organization_of, refuse_role_change
from roles.services.grants import role_group_name, role_sync_grants
from tenancy.context import require_scope


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


def _clean_role_fields(
    *, name: str, permissions: Iterable[str], exclude: Role | None = None
) -> tuple[str, list[str]]:
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Enter a name."})
    taken = Role.objects.filter(name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(id=exclude.id)
    if taken.exists():
        raise ValidationError({"name": f"A role named “{name}” already exists."})
    keys = set(permissions)
    unknown = keys - catalog.ALL_KEYS
    if unknown:
        raise ValidationError(
            {"permissions": f"Unknown permissions: {', '.join(sorted(unknown))}."}
        )
    return name, sorted(keys)


def _refuse_granting(actor: Membership, granted: Iterable[str]) -> None:
    """Nobody grants a permission they do not hold (SPEC §4)."""
    lacking = sorted(set(granted) - set(actor.role.permissions))
    if lacking:
        raise ValidationError(
            {"permissions": f"You cannot grant permissions you do not hold: {', '.join(lacking)}."}
        )


def _role_state(role: Role) -> dict[str, Any]:
    return {
        "name": role.name,
        "description": role.description,
        "customer_restricted": role.customer_restricted,
        "permissions": sorted(role.permissions),
    }


def _refuse_system(role: Role, refusal: str) -> None:
    if role.is_system:
        raise ValidationError(refusal)


def role_create(
    *,
    acting_user: Any,
    organization: Organization,
    name: str,
    permissions: Iterable[str],
    description: str = "",
    customer_restricted: bool = False,
    source: Role | None = None,
) -> Role:
    """A custom role, from scratch or (with ``source``) as a copy of another role."""
    with acting_member(acting_user, organization, catalog.MANAGE_ROLES) as actor:
        name, keys = _clean_role_fields(name=name, permissions=permissions)
        _refuse_granting(actor, keys)
        role = Role.objects.create(
            org=organization,
            name=name,
            description=description.strip(),
            customer_restricted=customer_restricted,
            permissions=keys,
        )
        role_sync_grants(role=role)
        after = _role_state(role)
        if source is not None:
            after["copied_from"] = source.name
        action = actions.ROLE_DUPLICATE if source is not None else actions.ROLE_CREATE
        audit_row(acting_user, action, role, after=after)
    return role


def role_duplicate_name(source: Role) -> str:
    """``Copy of X``, numbered when that name is taken."""
    base = f"Copy of {source.name}"[:55]
    taken = {name.lower() for name in Role.objects.values_list("name", flat=True)}
    name, counter = base, 2
    while name.lower() in taken:
        name = f"{base} ({counter})"
        counter += 1
    return name


def role_duplicate(
    *,
    acting_user: Any,
    source: Role,
    name: str | None = None,
    description: str | None = None,
    permissions: Iterable[str] | None = None,
) -> Role:
    return role_create(
        acting_user=acting_user,
        organization=organization_of(source),
        name=name if name is not None else role_duplicate_name(source),
        description=description if description is not None else source.description,
        permissions=permissions if permissions is not None else source.permissions,
        customer_restricted=source.customer_restricted,
        source=source,
    )


def role_update(
    *,
    acting_user: Any,
    role: Role,
    name: str,
    permissions: Iterable[str],
    description: str = "",
) -> Role:
    """Edit a custom role and resynchronise its group's grants."""
    with acting_member(acting_user, organization_of(role), catalog.MANAGE_ROLES) as actor:
        _refuse_system(role, "Built-in roles cannot be changed; duplicate one instead.")
        refuse_role_change(actor, role)
        name, keys = _clean_role_fields(name=name, permissions=permissions, exclude=role)
        _refuse_granting(actor, set(keys) - set(role.permissions))
        before = _role_state(role)
        role.name = name
        role.description = description.strip()
        role.permissions = keys
        role.save(update_fields=["name", "description", "permissions", "updated_at"])
        role_sync_grants(role=role)
        audit_row(acting_user, actions.ROLE_UPDATE, role, before=before, after=_role_state(role))
    return role


def _people(emails: list[str], *, named: bool, noun: str) -> str:
    """Who a refusal is about: their addresses for those allowed to see people, else a count."""
    if named:
        return ", ".join(emails)
    return f"{len(emails)} {noun}{'s' if len(emails) != 1 else ''}"


def role_delete(*, acting_user: Any, role: Role) -> None:
    """Delete an unassigned custom role with its group; refused while anyone holds it."""
    organization = organization_of(role)
    with acting_member(acting_user, organization, catalog.MANAGE_ROLES) as actor:
        _refuse_system(role, "Built-in roles cannot be deleted.")
        refuse_role_change(actor, role)
        sees_people = has_permission(actor, catalog.MANAGE_MEMBERS, organization)
        holders = list(
            role.memberships.select_related("user")
            .order_by("user__email")
            .values_list("user__email", flat=True)
        )
        if holders:
            raise ValidationError(
                f"{role.name} is still assigned to "
                f"{_people(holders, named=sees_people, noun='member')}. "
                "Give them another role first."
            )
        invited = list(
            role.invitations.filter(status=InvitationStatus.PENDING)
            .order_by("email")
            .values_list("email", flat=True)
        )
        if invited:
            raise ValidationError(
                f"{role.name} is offered in pending invitations to "
                f"{_people(invited, named=sees_people, noun='invitee')}. Revoke them first."
            )
        # Recorded before the delete, which clears the role's id.
        audit_row(acting_user, actions.ROLE_DELETE, role, before=_role_state(role))
        group_name = role_group_name(role)
        role.delete()
        Group.objects.filter(name=group_name).delete()
