"""Who belongs to an organization with which role, and who owns it (SPEC §4)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from audit import actions
from audit.services import audit_organization
from customers.models import Customer, Organization
from roles import catalog
from roles.models import Membership, MembershipStatus, Role
from roles.services.checks import (
    acting_member,
    audit_row,
    customer_label,
    organization_of,
    refuse_membership_change,
    refuse_role_assignment,
    refuse_unrestricted,
)
from roles.services.grants import move_between_groups


def _membership_state(membership: Membership) -> dict[str, Any]:
    return {
        "user": membership.user.email,
        "role": membership.role.name,
        "customer": customer_label(membership.restricted_customer),
    }


def membership_create(
    *,
    organization: Organization,
    user: Any,
    role: Role,
    restricted_customer: Customer | None = None,
    acting_user: Any = None,
) -> Membership:
    """The low-level write behind organization creation, invitations and join requests.

    It checks no permission: its callers have (or, for a new organization, need none). Without
    ``acting_user`` the audit row names the system as the actor.
    """
    if role.customer_restricted and restricted_customer is None:
        raise ValueError(f"The {role.name} role is always restricted to one customer.")
    membership = Membership.objects.create(
        org=organization, user=user, role=role, restricted_customer=restricted_customer
    )
    move_between_groups(membership.user, None, role)
    audit_row(
        acting_user, actions.MEMBERSHIP_CREATE, membership, after=_membership_state(membership)
    )
    return membership


def membership_role_change(
    *,
    acting_user: Any,
    membership: Membership,
    role: Role,
    restricted_customer: Customer | None = None,
) -> Membership:
    """Give a member another role (and customer restriction) and move them between groups."""
    organization = organization_of(membership)
    with acting_member(acting_user, organization, catalog.MANAGE_MEMBERS) as actor:
        refuse_membership_change(actor, membership)
        refuse_role_assignment(actor, role)
        refuse_unrestricted(role, restricted_customer)
        before = _membership_state(membership)
        old_role = membership.role
        membership.role = role
        membership.restricted_customer = restricted_customer
        membership.save(update_fields=["role", "restricted_customer"])
        if old_role.id != role.id:
            move_between_groups(membership.user, old_role, role)
        audit_row(
            acting_user,
            actions.MEMBERSHIP_ROLE_CHANGE,
            membership,
            before=before,
            after=_membership_state(membership),
        )
    return membership


def membership_remove(*, acting_user: Any, membership: Membership) -> None:
    """Take a member out of the organization and out of their role's group."""
    organization = organization_of(membership)
    with acting_member(acting_user, organization, catalog.MANAGE_MEMBERS) as actor:
        refuse_membership_change(actor, membership)
        before = _membership_state(membership)
        move_between_groups(membership.user, membership.role, None)
        # Recorded before the delete, which clears the membership's id.
        audit_row(acting_user, actions.MEMBERSHIP_REMOVE, membership, before=before)
        membership.delete()


def organization_ownership_transfer(
    *, acting_user: Any, organization: Organization, new_owner: Membership
) -> Organization:
    """The only code that assigns the Owner role: the new Owner gets it together with
    ``Organization.owner``, and the old Owner becomes an Admin."""
    with acting_member(acting_user, organization, catalog.OWNER_ONLY) as actor:
        if new_owner.user_id == actor.user_id:
            raise ValidationError({"new_owner": "You already own this organization."})
        if new_owner.status != MembershipStatus.ACTIVE:
            raise ValidationError({"new_owner": "Only an active member can become the Owner."})
        if new_owner.restricted_customer_id is not None:
            raise ValidationError(
                {"new_owner": "A member limited to one customer cannot own the organization."}
            )
        owner_role = Role.objects.get(system_key=catalog.OWNER)
        admin_role = Role.objects.get(system_key=catalog.ADMIN)
        before = {"owner": actor.user.email, "new_owner_role": new_owner.role.name}
        previous_role = new_owner.role
        new_owner.role = owner_role
        new_owner.save(update_fields=["role"])
        move_between_groups(new_owner.user, previous_role, owner_role)
        actor.role = admin_role
        actor.save(update_fields=["role"])
        move_between_groups(actor.user, owner_role, admin_role)
        organization.owner = new_owner.user
        organization.save(update_fields=["owner"])
        audit_organization(
            actor=acting_user,
            action=actions.ORGANIZATION_OWNERSHIP_TRANSFER,
            organization_id=organization.id,
            before=before,
            after={"owner": new_owner.user.email, "previous_owner_role": admin_role.name},
        )
    return organization
