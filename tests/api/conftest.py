"""Fixtures for the API tests: the world on the Starter plan, keys made through the service, an
HTTP helper."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from api import ratelimit
from api.services import CreatedKey, api_key_create
from customers.models import Customer, Organization
from roles.models import Membership, Role
from tenancy.context import ORGANIZATION, context
from tests.world import World, build_world


def owner_membership(org: Organization) -> Membership:
    return Membership.objects.get(user_id=org.owner_id)


def make_key(
    org: Organization,
    preset: str = "admin",
    *,
    customers: list[Customer] | None = None,
    name: str = "Backend",
) -> str:
    """A raw key with the system role ``preset``, made by the Owner through the service."""
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        created: CreatedKey = api_key_create(
            acting_user=org.owner,
            membership=owner_membership(org),
            organization=org,
            name=name,
            role=Role.objects.get(system_key=preset),
            all_customers=customers is None,
            customers=customers or [],
        )
    return created.raw


@dataclass
class Api:
    """Calls the API like a backend would: bearer key, optional x-end-org-id, JSON bodies."""

    client: Client

    def __call__(
        self,
        method: str,
        path: str,
        key: str | None,
        *,
        customer: Customer | uuid.UUID | str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        headers: dict[str, str] = {}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if customer is not None:
            headers["x-end-org-id"] = str(getattr(customer, "id", customer))
        call = getattr(self.client, method.lower())
        if json is not None:
            return call(f"/api/v1{path}", json, content_type="application/json", headers=headers)
        return call(f"/api/v1{path}", params or {}, headers=headers)


@pytest.fixture
def api() -> Api:
    return Api(Client())


@pytest.fixture
def world() -> World:
    """The suite's world (``tests/world.py``) with Acme on the Starter plan: the API tests make
    more keys than the Free plan's two and read the Starter plan's rate limits."""
    return build_world(plan_code="starter")


def wait_for_fresh_minute(margin: float = 3.0) -> None:
    """Tests that count calls within one UTC minute start with at least ``margin`` s left."""
    left = ratelimit.seconds_left_in_minute()
    if left < margin:
        time.sleep(left + 0.05)


@pytest.fixture
def fresh_minute() -> Callable[[float], None]:
    return wait_for_fresh_minute
