"""Embed tokens issued through the API: signed for one customer, expiring, tamper-evident."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.core import signing

from tests.api.conftest import Api, make_key
from tests.conftest import ALL_DATABASES
from tests.world import World
from widget import tokens

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _issue(world: World, api: Api) -> dict:
    response = api("POST", "/embed/token", make_key(world.org, "operator"), customer=world.customer)
    assert response.status_code == 201, response.content
    return response.json()


def test_token_opens_only_its_customer_with_end_user_permissions(world: World, api: Api) -> None:
    body = _issue(world, api)
    principal = tokens.verify(body["token"])
    assert (principal.org_id, principal.customer_id) == (world.org.id, world.customer.id)
    assert principal.has_catalog_permission("connections.read", world.org, world.customer)
    assert not principal.has_catalog_permission(
        "connections.read", world.org, world.second_customer
    )
    assert not principal.has_catalog_permission("customers.create", world.org, None)


def test_token_expires(world: World, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    body = _issue(world, api)
    later = time.time() + settings.EMBED_TOKEN_MAX_AGE_SECONDS + 5
    monkeypatch.setattr(signing.time, "time", lambda: later)
    with pytest.raises(tokens.TokenInvalid) as refused:
        tokens.verify(body["token"])
    assert refused.value.reason == "expired"


@pytest.mark.parametrize("position", [0, 10, -3])
def test_tampered_token_is_refused(world: World, api: Api, position: int) -> None:
    token = _issue(world, api)["token"]
    index = position % len(token)
    flipped = "A" if token[index] != "A" else "B"
    tampered = token[:index] + flipped + token[index + 1 :]
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(tampered)


def test_token_for_a_suspended_customer_is_refused(world: World, api: Api) -> None:
    from customers.models import Customer
    from tenancy.context import ORGANIZATION, context

    raw = make_key(world.org, "operator")
    with context(org_id=world.org.id, role=ORGANIZATION):
        Customer.objects.filter(id=world.customer.id).update(status="suspended")
    response = api("POST", "/embed/token", raw, customer=world.customer)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "customer_suspended"
