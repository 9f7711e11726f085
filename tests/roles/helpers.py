"""Members holding custom roles, made by the Owner through the services (for the roles tests)."""

from __future__ import annotations

from collections.abc import Iterable

from customers.models import Customer, Organization
from roles.models import Membership, Role
from roles.services import membership_create, role_create
from tests.factories import make_user
from tests.roles.conftest import Team, in_org


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
    team: Team, name: str, permissions: Iterable[str], *, customer_restricted: bool = False
) -> Role:
    return org_role(team.org, name, permissions, customer_restricted=customer_restricted)


def member_holding(
    team: Team, role: Role, email: str, *, customer: Customer | None = None
) -> Membership:
    with in_org(team.org):
        return membership_create(
            organization=team.org,
            user=make_user(email),
            role=role,
            restricted_customer=customer,
            acting_user=team.org.owner,
        )
