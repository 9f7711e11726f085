"""A secret configuration value stays secret until its value is replaced: unticking Secret
without a new value is refused, so the stored secret never appears on the Configuration tab,
in the export or on the edit page."""

from __future__ import annotations

import pytest

from dataplane.models import Configuration
from roles import catalog
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    client_for,
    in_customer,
    make_configuration,
)
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

SECRET = "whsec_live_never_shown_again_4242"


@pytest.fixture
def acme(world: World):
    org, customer = world.org, world.customer
    config = make_configuration(org, customer, "webhook_secret", SECRET, secret=True)
    return org, customer, config


def _edit(org, customer, config):
    return f"/o/{org.slug}/customers/{customer.id}/configuration/{config.id}/edit/"


def _stored(org, customer, config) -> Configuration:
    with in_customer(org, customer):
        return Configuration.objects.get(id=config.id)


def _shown_anywhere(client, org, customer, config) -> bool:
    base = f"/o/{org.slug}/customers/{customer.id}/"
    pages = [
        client.get(base + "configuration/"),
        client.get(base + "export.json"),
        client.get(_edit(org, customer, config)),
    ]
    assert all(page.status_code == 200 for page in pages)
    return any(SECRET.encode() in page.content for page in pages)


@pytest.mark.parametrize(
    "form",
    [
        {"value": ""},  # Secret unticked, value blank
        {"value": "   "},  # blank once stripped
        {"value": "", "end_user_editable": "on"},  # with another flag change riding along
        {"end_user_editable": "on"},  # no value field at all
    ],
)
def test_unticking_secret_without_a_new_value_is_refused(world, acme, form) -> None:
    org, customer, config = acme
    operator = client_for(world.user(catalog.OPERATOR))
    response = operator.post(_edit(org, customer, config), form)
    assert response.status_code == 200
    assert b"Enter a new value to make this secret an ordinary value" in response.content
    stored = _stored(org, customer, config)
    assert (stored.is_secret, stored.value, stored.end_user_editable) == (True, SECRET, False)
    assert not _shown_anywhere(operator, org, customer, config)


@pytest.mark.parametrize("role", [catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR])
def test_no_role_can_reveal_a_secret_by_unticking_it(world, acme, role) -> None:
    org, customer, config = acme
    client = client_for(world.user(role))
    client.post(_edit(org, customer, config), {"value": ""})
    assert _stored(org, customer, config).is_secret
    assert not _shown_anywhere(client, org, customer, config)


def test_a_secret_becomes_an_ordinary_value_only_with_a_new_value(world, acme) -> None:
    org, customer, config = acme
    operator = client_for(world.user(catalog.OPERATOR))
    response = operator.post(_edit(org, customer, config), {"value": "now-public-15"})
    assert response.status_code == 302
    stored = _stored(org, customer, config)
    assert (stored.is_secret, stored.value) == (False, "now-public-15")
    assert not _shown_anywhere(operator, org, customer, config)
    tab = operator.get(f"/o/{org.slug}/customers/{customer.id}/configuration/")
    assert b"now-public-15" in tab.content


def test_keeping_a_secret_with_a_blank_value_still_works(world, acme) -> None:
    org, customer, config = acme
    operator = client_for(world.user(catalog.OPERATOR))
    response = operator.post(
        _edit(org, customer, config), {"value": "", "is_secret": "on", "end_user_editable": "on"}
    )
    assert response.status_code == 302
    stored = _stored(org, customer, config)
    assert (stored.is_secret, stored.value, stored.end_user_editable) == (True, SECRET, True)
