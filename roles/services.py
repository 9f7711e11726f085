"""Roles, memberships, invitations and their django-guardian grants (SPEC §4).

Every write takes ``acting_user``, checks its permission key and the Owner rules, writes an
audit row in the same transaction and queues email with ``tenancy.on_commit``. Grants live in
one guardian Group per (organization, role); these functions are the only code that changes
which groups hold which grants and which users sit in them.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from guardian.models import GroupObjectPermission

from accounts.models import User
from audit.services import audit_record
from customers.models import Customer, Organization
from roles import catalog
from roles.models import (
    Invitation,
    InvitationStatus,
    JoinRequest,
    JoinRequestStatus,
    Membership,
    MembershipStatus,
    Role,
)
from roles.selectors import (
    INVITATION_MAX_AGE_SECONDS,
    OWNER_ONLY,
    authorize,
    invitation_token,
    membership_change_refusal,
    role_assignment_refusal,
)
from tenancy.context import ORGANIZATION, atomic, context, on_commit, require_scope

logger = logging.getLogger(__name__)

MANAGE_ROLES = "organization.manage_roles"
MANAGE_MEMBERS = "organization.manage_members"


# --- Guardian groups ------------------------------------------------------------------------


def role_group_name(role: Role) -> str:
    """Opaque: ids only, no names (groups have no row-level security)."""
    return f"org:{role.org_id}:role:{role.id}"


def _role_group(role: Role) -> Group:
    group, _ = Group.objects.get_or_create(name=role_group_name(role))
    return group


def role_sync_grants(*, role: Role) -> Group:
    """Make the role's group hold exactly the role's permissions on its organization."""
    group = _role_group(role)
    content_type = ContentType.objects.get_for_model(Organization)
    object_pk = str(role.org_id)
    codenames = {catalog.codename(key) for key in set(role.permissions) & catalog.ALL_KEYS}
    GroupObjectPermission.objects.filter(
        group=group, content_type=content_type, object_pk=object_pk
    ).delete()
    # One bulk insert instead of guardian's assign_perm per key: a new organization syncs six
    # roles, and the per-key round trips dominated its creation.
    GroupObjectPermission.objects.bulk_create(
        GroupObjectPermission(
            group=group, permission=permission, content_type=content_type, object_pk=object_pk
        )
        for permission in Permission.objects.filter(
            content_type=content_type, codename__in=codenames
        )
    )
    return group


def _move_between_groups(user: Any, old: Role | None, new: Role | None) -> None:
    if old is not None:
        _role_group(old).user_set.remove(user)
    if new is not None:
        _role_group(new).user_set.add(user)


# --- Shared checks --------------------------------------------------------------------------


def _acting_membership(acting_user: Any, organization: Organization) -> Membership:
    user_id = getattr(acting_user, "pk", None)
    membership = (
        Membership.objects.select_related("role")
        .filter(org_id=organization.id, user_id=user_id)
        .first()
        if user_id is not None
        else None
    )
    if membership is None:
        raise ValidationError("You are not a member of this organization.")
    return membership


def _require(acting_user: Any, organization: Organization, key: str) -> Membership:
    membership = _acting_membership(acting_user, organization)
    authorize(membership, key, organization)
    return membership


def _in_scope(organization: Organization) -> None:
    if require_scope().org_id != organization.id:
        raise ValidationError("This organization is not the one in scope.")


def _customer_label(customer: Customer | None) -> str:
    return customer.name if customer is not None else "Organization-wide"


def _membership_state(membership: Membership) -> dict[str, Any]:
    return {
        "user": membership.user.email,
        "role": membership.role.name,
        "customer": _customer_label(membership.restricted_customer),
    }


def _check_restriction(role: Role, customer: Customer | None) -> None:
    if role.customer_restricted and customer is None:
        raise ValidationError(
            {"restricted_customer": f"The {role.name} role is always limited to one customer."}
        )


# --- Roles ----------------------------------------------------------------------------------


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
    _in_scope(organization)
    with atomic():
        actor = _require(acting_user, organization, MANAGE_ROLES)
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
        audit_record(
            actor=acting_user,
            action="role.duplicate" if source is not None else "role.create",
            target_type="role",
            target_id=role.id,
            after=after,
        )
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
    organization = Organization.objects.get(id=source.org_id)
    return role_create(
        acting_user=acting_user,
        organization=organization,
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
    organization = Organization.objects.get(id=role.org_id)
    _in_scope(organization)
    with atomic():
        actor = _require(acting_user, organization, MANAGE_ROLES)
        if role.is_system:
            raise ValidationError("Built-in roles cannot be changed; duplicate one instead.")
        name, keys = _clean_role_fields(name=name, permissions=permissions, exclude=role)
        _refuse_granting(actor, set(keys) - set(role.permissions))
        before = _role_state(role)
        role.name = name
        role.description = description.strip()
        role.permissions = keys
        role.save(update_fields=["name", "description", "permissions", "updated_at"])
        role_sync_grants(role=role)
        audit_record(
            actor=acting_user,
            action="role.update",
            target_type="role",
            target_id=role.id,
            before=before,
            after=_role_state(role),
        )
    return role


def role_delete(*, acting_user: Any, role: Role) -> None:
    """Delete an unassigned custom role with its group; refused while anyone holds it."""
    organization = Organization.objects.get(id=role.org_id)
    _in_scope(organization)
    with atomic():
        _require(acting_user, organization, MANAGE_ROLES)
        if role.is_system:
            raise ValidationError("Built-in roles cannot be deleted.")
        holders = list(
            role.memberships.select_related("user")
            .order_by("user__email")
            .values_list("user__email", flat=True)
        )
        if holders:
            raise ValidationError(
                f"{role.name} is still assigned to {', '.join(holders)}. "
                "Give them another role first."
            )
        invited = list(
            role.invitations.filter(status=InvitationStatus.PENDING)
            .order_by("email")
            .values_list("email", flat=True)
        )
        if invited:
            raise ValidationError(
                f"{role.name} is offered in pending invitations to {', '.join(invited)}. "
                "Revoke them first."
            )
        before = _role_state(role)
        role_id = role.id
        group_name = role_group_name(role)
        role.delete()
        Group.objects.filter(name=group_name).delete()
        audit_record(
            actor=acting_user,
            action="role.delete",
            target_type="role",
            target_id=role_id,
            before=before,
        )


# --- Memberships ----------------------------------------------------------------------------


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
    _move_between_groups(membership.user, None, role)
    audit_record(
        actor=acting_user,
        action="membership.create",
        target_type="membership",
        target_id=membership.id,
        subject_customer_id=restricted_customer.id if restricted_customer else None,
        after=_membership_state(membership),
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
    organization = Organization.objects.get(id=membership.org_id)
    _in_scope(organization)
    with atomic():
        actor = _require(acting_user, organization, MANAGE_MEMBERS)
        refusal = membership_change_refusal(actor, membership)
        if refusal:
            raise ValidationError(refusal)
        refusal = role_assignment_refusal(actor, role)
        if refusal:
            raise ValidationError({"role": refusal})
        _check_restriction(role, restricted_customer)
        before = _membership_state(membership)
        old_role = membership.role
        membership.role = role
        membership.restricted_customer = restricted_customer
        membership.save(update_fields=["role", "restricted_customer"])
        if old_role.id != role.id:
            _move_between_groups(membership.user, old_role, role)
        audit_record(
            actor=acting_user,
            action="membership.role_change",
            target_type="membership",
            target_id=membership.id,
            subject_customer_id=restricted_customer.id if restricted_customer else None,
            before=before,
            after=_membership_state(membership),
        )
    return membership


def membership_remove(*, acting_user: Any, membership: Membership) -> None:
    """Take a member out of the organization and out of their role's group."""
    organization = Organization.objects.get(id=membership.org_id)
    _in_scope(organization)
    with atomic():
        actor = _require(acting_user, organization, MANAGE_MEMBERS)
        refusal = membership_change_refusal(actor, membership)
        if refusal:
            raise ValidationError(refusal)
        before = _membership_state(membership)
        membership_id = membership.id
        customer_id = membership.restricted_customer_id
        _move_between_groups(membership.user, membership.role, None)
        membership.delete()
        audit_record(
            actor=acting_user,
            action="membership.remove",
            target_type="membership",
            target_id=membership_id,
            subject_customer_id=customer_id,
            before=before,
        )


def organization_ownership_transfer(
    *, acting_user: Any, organization: Organization, new_owner: Membership
) -> Organization:
    """The only code that assigns the Owner role: the new Owner gets it together with
    ``Organization.owner``, and the old Owner becomes an Admin."""
    _in_scope(organization)
    with atomic():
        actor = _require(acting_user, organization, OWNER_ONLY)
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
        _move_between_groups(new_owner.user, previous_role, owner_role)
        actor.role = admin_role
        actor.save(update_fields=["role"])
        _move_between_groups(actor.user, owner_role, admin_role)
        organization.owner = new_owner.user
        organization.save(update_fields=["owner"])
        audit_record(
            actor=acting_user,
            action="organization.ownership_transfer",
            target_type="organization",
            target_id=organization.id,
            before=before,
            after={"owner": new_owner.user.email, "previous_owner_role": admin_role.name},
        )
    return organization


# --- Invitations ----------------------------------------------------------------------------


def _invitation_state(invitation: Invitation) -> dict[str, Any]:
    return {
        "email": invitation.email,
        "role": invitation.role.name,
        "customer": _customer_label(invitation.restricted_customer),
        "status": invitation.status,
    }


def _send_invitation_email(
    invitation: Invitation, organization: Organization, link_base: str
) -> None:
    """Queue the email for after the commit, so a rolled-back invitation sends nothing."""
    token = invitation_token(invitation)
    link = link_base.rstrip("/") + reverse("invitations:accept", kwargs={"token": token})
    context_data = {
        "organization": organization,
        "invitation": invitation,
        "inviter": invitation.invited_by,
        "link": link,
        "days": INVITATION_MAX_AGE_SECONDS // 86400,
    }
    subject = f"You are invited to join {organization.name} on Fastn Console"
    body = render_to_string("roles/invitation_email.txt", context_data)
    recipient = invitation.email

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
        except (OSError, smtplib.SMTPException):
            logger.exception("Could not send the invitation email to %s", recipient)

    on_commit(send)


def invitation_create(
    *,
    acting_user: Any,
    organization: Organization,
    email: str,
    role: Role,
    restricted_customer: Customer | None = None,
    link_base: str,
) -> Invitation:
    _in_scope(organization)
    with atomic():
        actor = _require(acting_user, organization, MANAGE_MEMBERS)
        email = email.strip().lower()
        refusal = role_assignment_refusal(actor, role)
        if refusal:
            raise ValidationError({"role": refusal})
        _check_restriction(role, restricted_customer)
        if Membership.objects.filter(user__email__iexact=email).exists():
            raise ValidationError({"email": f"{email} is already a member."})
        if Invitation.objects.filter(email__iexact=email, status=InvitationStatus.PENDING).exists():
            raise ValidationError(
                {"email": f"{email} already has a pending invitation; resend it instead."}
            )
        now = timezone.now()
        invitation = Invitation.objects.create(
            org=organization,
            email=email,
            role=role,
            restricted_customer=restricted_customer,
            invited_by=acting_user,
            expires_at=now + timedelta(seconds=INVITATION_MAX_AGE_SECONDS),
            sent_at=now,
        )
        audit_record(
            actor=acting_user,
            action="invitation.create",
            target_type="invitation",
            target_id=invitation.id,
            subject_customer_id=restricted_customer.id if restricted_customer else None,
            after=_invitation_state(invitation),
        )
        _send_invitation_email(invitation, organization, link_base)
    return invitation


def _require_pending(invitation: Invitation) -> None:
    if invitation.status != InvitationStatus.PENDING:
        raise ValidationError(f"This invitation is {invitation.get_status_display().lower()}.")


def invitation_resend(*, acting_user: Any, invitation: Invitation, link_base: str) -> Invitation:
    """A fresh link, valid for another full period."""
    organization = Organization.objects.get(id=invitation.org_id)
    _in_scope(organization)
    with atomic():
        actor = _require(acting_user, organization, MANAGE_MEMBERS)
        _require_pending(invitation)
        refusal = role_assignment_refusal(actor, invitation.role)
        if refusal:
            raise ValidationError(refusal)
        before = {"expires_at": invitation.expires_at.isoformat()}
        now = timezone.now()
        invitation.expires_at = now + timedelta(seconds=INVITATION_MAX_AGE_SECONDS)
        invitation.sent_at = now
        invitation.save(update_fields=["expires_at", "sent_at"])
        audit_record(
            actor=acting_user,
            action="invitation.resend",
            target_type="invitation",
            target_id=invitation.id,
            subject_customer_id=invitation.restricted_customer_id,
            before=before,
            after={"email": invitation.email, "expires_at": invitation.expires_at.isoformat()},
        )
        _send_invitation_email(invitation, organization, link_base)
    return invitation


def invitation_revoke(*, acting_user: Any, invitation: Invitation) -> Invitation:
    organization = Organization.objects.get(id=invitation.org_id)
    _in_scope(organization)
    with atomic():
        _require(acting_user, organization, MANAGE_MEMBERS)
        _require_pending(invitation)
        before = _invitation_state(invitation)
        invitation.status = InvitationStatus.REVOKED
        invitation.save(update_fields=["status"])
        audit_record(
            actor=acting_user,
            action="invitation.revoke",
            target_type="invitation",
            target_id=invitation.id,
            subject_customer_id=invitation.restricted_customer_id,
            before=before,
            after=_invitation_state(invitation),
        )
    return invitation


def invitation_accept(
    *,
    token: str,
    user: Any = None,
    new_account: dict[str, str] | None = None,
) -> Membership:
    """Accept the invitation a signed link names, as ``user`` or as a new account.

    The link's signature is what allows entering the organization's scope here. The signed-in
    user's email must be the invited address; a new account takes that address.
    """
    from roles.selectors import invitation_link_ids, invitation_link_read

    link = invitation_link_read(token)
    org_id, invitation_id = invitation_link_ids(token)
    email = link.invitation.email
    if user is not None and user.email.lower() != email.lower():
        raise ValidationError(f"This invitation is for {email}; you are signed in as {user.email}.")
    with context(org_id=org_id, role=ORGANIZATION, user_id=getattr(user, "pk", None)):
        if user is None:
            if new_account is None:
                raise ValidationError("Sign in or create an account to accept.")
            if User.objects.filter(email__iexact=email).exists():
                raise ValidationError("An account with this email exists; sign in to accept.")
            user = User.objects.create_user(
                email=email,
                password=new_account["password"],
                full_name=new_account.get("full_name", "").strip(),
            )
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("role", "restricted_customer")
            .get(id=invitation_id)
        )
        _require_pending(invitation)
        if Membership.objects.filter(user_id=user.pk).exists():
            raise ValidationError(f"You are already a member of {link.organization.name}.")
        membership = membership_create(
            organization=link.organization,
            user=user,
            role=invitation.role,
            restricted_customer=invitation.restricted_customer,
            acting_user=user,
        )
        invitation.status = InvitationStatus.ACCEPTED
        invitation.save(update_fields=["status"])
        audit_record(
            actor=user,
            action="invitation.accept",
            target_type="invitation",
            target_id=invitation.id,
            subject_customer_id=invitation.restricted_customer_id,
            before={"status": InvitationStatus.PENDING},
            after=_invitation_state(invitation),
        )
    return membership


# --- Join requests --------------------------------------------------------------------------


def _join_request_state(join_request: JoinRequest) -> dict[str, Any]:
    return {
        "email": join_request.email,
        "name": join_request.full_name,
        "status": join_request.status,
    }


def join_request_accept(
    *,
    acting_user: Any,
    join_request: JoinRequest,
    role: Role,
    restricted_customer: Customer | None = None,
    link_base: str,
) -> JoinRequest:
    """Admit the requester with ``role``. Someone without an account yet gets an invitation
    with that role instead, so they choose their own password."""
    organization = Organization.objects.get(id=join_request.org_id)
    _in_scope(organization)
    with atomic():
        actor = _require(acting_user, organization, MANAGE_MEMBERS)
        if join_request.status != JoinRequestStatus.PENDING:
            raise ValidationError(f"This request is {join_request.get_status_display().lower()}.")
        refusal = role_assignment_refusal(actor, role)
        if refusal:
            raise ValidationError({"role": refusal})
        _check_restriction(role, restricted_customer)
        user = join_request.user or User.objects.filter(email__iexact=join_request.email).first()
        before = _join_request_state(join_request)
        join_request.status = JoinRequestStatus.ACCEPTED
        join_request.save(update_fields=["status"])
        after = {
            **_join_request_state(join_request),
            "role": role.name,
            "customer": _customer_label(restricted_customer),
        }
        audit_record(
            actor=acting_user,
            action="join_request.accept",
            target_type="join_request",
            target_id=join_request.id,
            subject_customer_id=restricted_customer.id if restricted_customer else None,
            before=before,
            after=after,
        )
        if user is None:
            invitation_create(
                acting_user=acting_user,
                organization=organization,
                email=join_request.email,
                role=role,
                restricted_customer=restricted_customer,
                link_base=link_base,
            )
        elif not Membership.objects.filter(user_id=user.pk).exists():
            membership_create(
                organization=organization,
                user=user,
                role=role,
                restricted_customer=restricted_customer,
                acting_user=acting_user,
            )
    return join_request


def join_request_decline(*, acting_user: Any, join_request: JoinRequest) -> JoinRequest:
    organization = Organization.objects.get(id=join_request.org_id)
    _in_scope(organization)
    with atomic():
        _require(acting_user, organization, MANAGE_MEMBERS)
        if join_request.status != JoinRequestStatus.PENDING:
            raise ValidationError(f"This request is {join_request.get_status_display().lower()}.")
        before = _join_request_state(join_request)
        join_request.status = JoinRequestStatus.DECLINED
        join_request.save(update_fields=["status"])
        audit_record(
            actor=acting_user,
            action="join_request.decline",
            target_type="join_request",
            target_id=join_request.id,
            before=before,
            after=_join_request_state(join_request),
        )
    return join_request
