"""Members holding custom roles, made by the Owner through the services (for the roles tests)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from customers.models import Customer, Organization
from roles.models import Membership, Role
from roles.services import membership_create, role_create
from tenancy.context import ORGANIZATION, context
from tests.factories import make_user
from tests.world import World


def in_org(org: Organization) -> Any:
    """The organization-wide context of ``org``, entered as its Owner."""
    return context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id)


def org_role(
    org: Organization, name: str, permissions: Iterable[str], *, customer_restricted: bool = False
) -> Role:
    """A custom role of ``org``, made by its Owner."""
    with in_org(org):
        return role_create(
            acting_user=org.owner,
            organization=org,
            name=name,
            permissions=sorted(permissions),
            customer_restricted=customer_restricted,
        )


def custom_role(
    world: World, name: str, permissions: Iterable[str], *, customer_restricted: bool = False
) -> Role:
    return org_role(world.org, name, permissions, customer_restricted=customer_restricted)


def member_holding(
    world: World, role: Role, email: str, *, customer: Customer | None = None
) -> Membership:
    with in_org(world.org):
        return membership_create(
            organization=world.org,
            user=make_user(email),
            role=role,
            restricted_customer=customer,
            acting_user=world.org.owner,
        )
