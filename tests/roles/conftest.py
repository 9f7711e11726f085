"""An organization with one member per system role, and an outsider organization."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from customers.models import Customer, Organization
from roles import catalog
from roles.models import Membership, Role
from tenancy.context import ORGANIZATION, context
from tests.factories import client_for, make_customer, make_member, make_org, make_user


@dataclass
class Team:
    org: Organization
    customer: Customer
    members: dict[str, Membership]  # system role key -> membership (owner included)
    outsider_org: Organization

    @property
    def slug(self) -> str:
        return self.org.slug

    def url(self, path: str) -> str:
        return f"/o/{self.org.slug}/settings/{path}"

    def client(self, role_key: str) -> Client:
        return client_for(self.members[role_key].user)

    def role(self, key: str) -> Role:
        with context(org_id=self.org.id, role=ORGANIZATION, user_id=self.org.owner_id):
            return Role.objects.get(system_key=key)

    def outsider(self) -> Client:
        return client_for(self.outsider_org.owner)


def in_org(org: Organization) -> Any:
    return context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id)


@pytest.fixture
def team() -> Team:
    org = make_org("Acme", owner=make_user("owner@acme.test"))
    customer = make_customer(org, "Northwind")
    with in_org(org):
        owner = Membership.objects.get(user=org.owner)
    members = {catalog.OWNER: owner}
    for key in (catalog.ADMIN, catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER):
        members[key] = make_member(org, key, user=make_user(f"{key}@acme.test"))
    members[catalog.END_USER] = make_member(
        org, catalog.END_USER, user=make_user("enduser@acme.test"), customer=customer
    )
    outsider_org = make_org("Globex", owner=make_user("owner@globex.test"))
    return Team(org, customer, members, outsider_org)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Accounts are created by the dozen here; the real hasher's cost proves nothing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
