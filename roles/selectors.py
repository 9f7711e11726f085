"""``authorize``: the one permission check (SPEC §4), and the reads of roles and people."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.utils import timezone
from guardian.models import GroupObjectPermission

from audit.services import MISSING_PERMISSION
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
from tenancy.context import ORGANIZATION, context

INVITATION_SALT = "roles.invitation"
INVITATION_MAX_AGE_SECONDS = 7 * 24 * 3600


def has_permission(
    principal: Any, key: str, organization: Organization, customer: Customer | None = None
) -> bool:
    if key != catalog.OWNER_ONLY and key not in catalog.ALL_KEYS:
        raise ValueError(f"Unknown permission key {key!r}")
    if key in catalog.NEVER_WHEN_RESTRICTED and is_customer_restricted(principal):
        return False
    if isinstance(principal, Membership):
        return _membership_has(principal, key, organization, customer)
    checker = getattr(principal, "has_catalog_permission", None)
    if checker is None:
        return False
    return bool(checker(key, organization, customer))


def is_customer_restricted(principal: Any) -> bool:
    """Whether ``principal`` acts for one customer (or a few) rather than the organization: a
    membership limited to a customer, an API key limited to selected customers, an embed token.
    A principal that does not say (``is_customer_restricted``) counts as restricted."""
    if isinstance(principal, Membership):
        return principal.restricted_customer_id is not None
    return bool(getattr(principal, "is_customer_restricted", True))


def _membership_has(
    membership: Membership, key: str, organization: Organization, customer: Customer | None
) -> bool:
    if membership.org_id != organization.id:
        return False
    granted = _granted_keys(membership, organization)
    if granted is None:
        return False
    if key == catalog.OWNER_ONLY:
        return organization.owner_id == membership.user_id
    restricted = membership.restricted_customer_id
    if restricted is not None:
        if customer is None and key not in catalog.READABLE_WHEN_RESTRICTED:
            return False
        if customer is not None and customer.id != restricted:
            return False
    return key in granted


_GRANTS_ATTRIBUTE = "_granted_catalog_keys"


def membership_for_request(membership: Membership) -> Membership:
    """Mark a membership the console middleware loaded under RLS for one request: ``authorize``
    then reads its visibility and its guardian grants once, not on every check."""
    setattr(membership, _GRANTS_ATTRIBUTE, None)
    return membership


def role_group_name_of(*, org_id: uuid.UUID, role_id: uuid.UUID) -> str:
    """The guardian Group of one (organization, role). Opaque: ids only, no names (groups have
    no row-level security)."""
    return f"org:{org_id}:role:{role_id}"


def _role_grants(membership: Membership, organization: Organization) -> set[str]:
    """The codenames the group of ``membership``'s own role holds on ``organization``, if the
    user sits in that group. Only that group counts: not the user's other groups, and not
    guardian's shortcut that gives a Django superuser every permission (console permissions
    come from the membership alone)."""
    return set(
        GroupObjectPermission.objects.filter(
            group__name=role_group_name_of(org_id=membership.org_id, role_id=membership.role_id),
            group__user=membership.user_id,
            content_type=ContentType.objects.get_for_model(Organization),
            object_pk=str(organization.id),
        ).values_list("permission__codename", flat=True)
    )


def _granted_keys(membership: Membership, organization: Organization) -> frozenset[str] | None:
    """The catalog keys guardian grants ``membership``'s role here, or ``None`` if RLS hides
    the membership."""
    remembered = getattr(membership, _GRANTS_ATTRIBUTE, False)
    if isinstance(remembered, frozenset):
        return remembered
    # The console middleware loaded a request's membership active, under RLS, this request:
    # it is visible; any other membership object is checked again.
    visible = remembered is None or (
        Membership.objects.filter(
            id=membership.id, user_id=membership.user_id, status=MembershipStatus.ACTIVE
        ).exists()
    )
    if not visible:
        return None
    codenames = _role_grants(membership, organization)
    granted = frozenset(key for key in catalog.ALL_KEYS if catalog.codename(key) in codenames)
    if remembered is None:
        setattr(membership, _GRANTS_ATTRIBUTE, granted)
    return granted


def authorize(
    principal: Any, key: str, organization: Organization, customer: Customer | None = None
) -> None:
    """Raise ``PermissionDenied`` unless ``principal`` holds ``key`` here."""
    if not has_permission(principal, key, organization, customer):
        raise PermissionDenied(f"{MISSING_PERMISSION}{key}")


def permissions_of(membership: Membership) -> frozenset[str]:
    """The catalog keys a membership's role grants: what its holder may put in a role or give an
    API key (SPEC §4). Pages deciding which buttons to show ask ``tenant.permissions``."""
    return frozenset(membership.role.permissions) & catalog.ALL_KEYS


# --- The rules of SPEC §4, as predicates the services enforce and the pages use ------------


def is_owner_role(role: Role) -> bool:
    return role.is_system and role.system_key == catalog.OWNER


def role_is_above(role: Role, other: Role) -> bool:
    """SPEC §4: a role is above another when its permissions are not a subset of the other's,
    or it is the Owner role."""
    return is_owner_role(role) or not set(role.permissions) <= set(other.permissions)


def is_organization_owner(membership: Membership) -> bool:
    return Organization.objects.filter(id=membership.org_id, owner_id=membership.user_id).exists()


def membership_change_refusal(actor: Membership, target: Membership) -> str | None:
    """Why ``actor`` may not change ``target``'s role (or remove them), or ``None``."""
    if target.user_id == actor.user_id:
        return "Nobody changes their own role or removes themselves."
    if is_organization_owner(target) or is_owner_role(target.role):
        return "The Owner can only change through an ownership transfer."
    if role_is_above(target.role, actor.role):
        return "This member's role holds permissions you do not hold."
    return None


ROLE_HELD_ABOVE = (
    "This role is held by someone above you: editing or deleting it would change what they may do."
)


def role_change_refusal(actor: Membership, role: Role) -> str | None:
    """Why ``actor`` may not edit or delete ``role``, or ``None``: nobody changes a role held by
    someone above them (SPEC §4), since every holder's permissions follow the role. A holder is
    above the actor when the role holds permissions the actor lacks, or when it is the Owner."""
    holders = role.memberships.exclude(user_id=actor.user_id)
    if not role_is_above(role, actor.role):
        owner = Organization.objects.filter(id=role.org_id).values("owner_id")
        holders = holders.filter(user_id__in=owner)
    return ROLE_HELD_ABOVE if holders.exists() else None


def role_assignment_refusal(actor: Membership, role: Role) -> str | None:
    """Why ``actor`` may not give ``role`` to anyone, or ``None``."""
    if is_owner_role(role):
        return "The Owner role is never assigned; transfer ownership instead."
    if role_is_above(role, actor.role):
        missing = sorted(set(role.permissions) - set(actor.role.permissions))
        return f"{role.name} holds permissions you do not hold: {', '.join(missing)}."
    return None


# --- Reads ----------------------------------------------------------------------------------


def role_list(*, search: str = "") -> QuerySet[Role]:
    """System roles in the catalog's order (Owner first), then custom roles by name."""
    order = Case(
        *(
            When(system_key=role.key, then=Value(index))
            for index, role in enumerate(catalog.SYSTEM_ROLES)
        ),
        default=Value(len(catalog.SYSTEM_ROLES)),
    )
    roles = Role.objects.annotate(member_count=Count("memberships"), system_order=order)
    search = search.strip()
    if search:
        roles = roles.filter(Q(name__icontains=search) | Q(description__icontains=search))
    return roles.order_by("system_order", "name")


def system_role_order(role: Role) -> int:
    keys = [system_role.key for system_role in catalog.SYSTEM_ROLES]
    return keys.index(role.system_key) if role.system_key in keys else len(keys)


def role_members(role: Role) -> QuerySet[Membership]:
    return role.memberships.select_related("user").order_by("user__email")


def assignable_roles(actor: Membership) -> list[Role]:
    """Roles ``actor`` may give to others: never the Owner, never a role above their own."""
    roles = sorted(Role.objects.all(), key=lambda role: (system_role_order(role), role.name))
    return [role for role in roles if role_assignment_refusal(actor, role) is None]


def restrictable_customers() -> QuerySet[Customer]:
    return Customer.objects.live().order_by("name")


def membership_list(*, search: str = "") -> QuerySet[Membership]:
    memberships = Membership.objects.select_related("user", "role", "restricted_customer")
    search = search.strip()
    if search:
        memberships = memberships.filter(
            Q(user__email__icontains=search)
            | Q(user__full_name__icontains=search)
            | Q(role__name__icontains=search)
        )
    return memberships.order_by("user__email")


def invitation_list(
    *, search: str = "", status: str = InvitationStatus.PENDING
) -> QuerySet[Invitation]:
    invitations = Invitation.objects.select_related("role", "restricted_customer", "invited_by")
    if status:
        invitations = invitations.filter(status=status)
    search = search.strip()
    if search:
        invitations = invitations.filter(email__icontains=search)
    return invitations.order_by("-created_at")


def join_request_list(
    *, search: str = "", status: str = JoinRequestStatus.PENDING
) -> QuerySet[JoinRequest]:
    requests = JoinRequest.objects.all()
    if status:
        requests = requests.filter(status=status)
    search = search.strip()
    if search:
        requests = requests.filter(Q(email__icontains=search) | Q(full_name__icontains=search))
    return requests.order_by("-created_at")


def ownership_candidates(actor: Membership) -> QuerySet[Membership]:
    """Active organization-wide members other than the Owner."""
    return (
        Membership.objects.filter(status=MembershipStatus.ACTIVE, restricted_customer__isnull=True)
        .exclude(user_id=actor.user_id)
        .select_related("user", "role")
        .order_by("user__email")
    )


# --- Invitation links -----------------------------------------------------------------------


class InvitationLinkError(Exception):
    """The link can no longer be used; ``str(error)`` says why, for the person holding it."""


class InvitationLinkInvalid(InvitationLinkError):
    """The link was never valid (mistyped or tampered with)."""


@dataclass(frozen=True)
class InvitationLink:
    organization: Organization
    invitation: Invitation


def invitation_token(invitation: Invitation) -> str:
    """A signed link token carrying what acceptance needs (SPEC §5.7): organization and id."""
    return signing.dumps(
        {"org": str(invitation.org_id), "inv": str(invitation.id)}, salt=INVITATION_SALT
    )


def invitation_link_ids(token: str) -> tuple[uuid.UUID, uuid.UUID]:
    try:
        payload = signing.loads(token, salt=INVITATION_SALT, max_age=INVITATION_MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        raise InvitationLinkError(
            "This invitation link has expired. Ask the person who invited you to resend it."
        ) from None
    except signing.BadSignature:
        raise InvitationLinkInvalid("This invitation link is not valid.") from None
    try:
        return uuid.UUID(payload["org"]), uuid.UUID(payload["inv"])
    except (KeyError, TypeError, ValueError):
        raise InvitationLinkInvalid("This invitation link is not valid.") from None


def invitation_link_read(token: str, *, user_id: uuid.UUID | None = None) -> InvitationLink:
    """The organization and pending invitation a link names, or ``InvitationLinkError``.

    The link's signature is what lets this read enter the organization's scope.
    """
    org_id, invitation_id = invitation_link_ids(token)
    with context(org_id=org_id, role=ORGANIZATION, user_id=user_id):
        organization = Organization.objects.live().filter(id=org_id).first()
        invitation = (
            Invitation.objects.select_related("role", "restricted_customer")
            .filter(id=invitation_id)
            .first()
        )
    if organization is None or invitation is None:
        raise InvitationLinkInvalid("This invitation no longer exists.")
    if invitation.status == InvitationStatus.REVOKED:
        raise InvitationLinkError(
            f"This invitation to {organization.name} was revoked. Ask for a new one if you "
            "still need access."
        )
    if invitation.status == InvitationStatus.ACCEPTED:
        raise InvitationLinkError("This invitation has already been accepted.")
    if invitation.expires_at <= timezone.now():
        raise InvitationLinkError(
            "This invitation link has expired. Ask the person who invited you to resend it."
        )
    return InvitationLink(organization, invitation)
