"""``authorize``: the one permission check (SPEC §4)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from guardian.core import ObjectPermissionChecker

from customers.models import Customer, Organization
from roles import catalog
from roles.models import Membership, MembershipStatus

OWNER_ONLY = "organization.owner"  # transfer ownership, delete the organization
READABLE_WHEN_RESTRICTED = frozenset({"connectors.read", "agents.read", "tools.read"})


def has_permission(
    principal: Any, key: str, organization: Organization, customer: Customer | None = None
) -> bool:
    if key != OWNER_ONLY and key not in catalog.ALL_KEYS:
        raise ValueError(f"Unknown permission key {key!r}")
    if isinstance(principal, Membership):
        return _membership_has(principal, key, organization, customer)
    checker = getattr(principal, "has_catalog_permission", None)
    if checker is None:
        return False
    return bool(checker(key, organization, customer))


def _membership_has(
    membership: Membership, key: str, organization: Organization, customer: Customer | None
) -> bool:
    if membership.org_id != organization.id:
        return False
    visible = Membership.objects.filter(
        id=membership.id, user_id=membership.user_id, status=MembershipStatus.ACTIVE
    ).exists()
    if not visible:
        return False
    if key == OWNER_ONLY:
        return organization.owner_id == membership.user_id
    restricted = membership.restricted_customer_id
    if restricted is not None:
        if customer is None and key not in READABLE_WHEN_RESTRICTED:
            return False
        if customer is not None and customer.id != restricted:
            return False
    checker = ObjectPermissionChecker(membership.user)
    return bool(checker.has_perm(catalog.codename(key), organization))


def authorize(
    principal: Any, key: str, organization: Organization, customer: Customer | None = None
) -> None:
    """Raise ``PermissionDenied`` unless ``principal`` holds ``key`` here."""
    if not has_permission(principal, key, organization, customer):
        raise PermissionDenied(f"Missing permission {key}")


def permissions_of(membership: Membership) -> frozenset[str]:
    """The catalog keys a membership's role grants (for showing or hiding buttons)."""
    return frozenset(membership.role.permissions) & catalog.ALL_KEYS
