"""Configuration editing by role (End Users: end-user-editable keys only) and the read-only,
region-by-region data-plane admin."""

from __future__ import annotations

import pytest
from django.test import Client

from dataplane.models import Configuration
from roles import catalog
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    client_for,
    in_customer,
    make_configuration,
    make_connection,
    make_connector,
)
from tests.factories import make_user
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

ROLES = (catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER, catalog.END_USER)
CAN_UPDATE = {catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR, catalog.END_USER}


@pytest.fixture
def acme(world: World):
    org, customer = world.org, world.customer
    editable = make_configuration(org, customer, "sync_interval", "15", editable=True)
    locked = make_configuration(org, customer, "webhook_secret", "whsec_1234567890", secret=True)
    return org, customer, editable, locked


def _value(org, customer, config):
    with in_customer(org, customer):
        return Configuration.objects.get(id=config.id).value


def _edit(org, customer, config):
    return f"/o/{org.slug}/customers/{customer.id}/configuration/{config.id}/edit/"


@pytest.mark.parametrize("role", ROLES)
def test_editing_an_end_user_editable_value_by_role(world, acme, role) -> None:
    org, customer, editable, _ = acme
    user = world.user(role)
    response = client_for(user).post(_edit(org, customer, editable), {"value": "30"})
    if role in CAN_UPDATE:
        assert response.status_code == 302
        assert _value(org, customer, editable) == "30"
    else:
        assert response.status_code == 403
        assert _value(org, customer, editable) == "15"


def test_end_user_cannot_edit_a_value_that_is_not_end_user_editable(world, acme) -> None:
    org, customer, _, locked = acme
    end_user = world.user(catalog.END_USER)
    response = client_for(end_user).post(_edit(org, customer, locked), {"value": "stolen"})
    assert response.status_code == 404
    assert _value(org, customer, locked) == "whsec_1234567890"


def test_end_user_cannot_add_configuration_or_change_flags(world, acme) -> None:
    org, customer, editable, _ = acme
    end_user = client_for(world.user(catalog.END_USER))
    base = f"/o/{org.slug}/customers/{customer.id}/configuration/"
    assert end_user.post(base + "new/", {"key": "x", "value": "y"}).status_code == 403
    end_user.post(_edit(org, customer, editable), {"value": "20", "end_user_editable": ""})
    with in_customer(org, customer):
        assert Configuration.objects.get(id=editable.id).end_user_editable


def test_operator_adds_a_secret_that_is_never_shown_again(world, acme) -> None:
    org, customer, _, _ = acme
    client = client_for(world.user(catalog.OPERATOR))
    base = f"/o/{org.slug}/customers/{customer.id}/configuration/"
    response = client.post(
        base + "new/", {"key": "api_token", "value": "very-secret-value", "is_secret": "on"}
    )
    assert response.status_code == 302
    with in_customer(org, customer):
        config = Configuration.objects.get(key="api_token")
    page = client.get(_edit(org, customer, config))
    assert b"very-secret-value" not in page.content
    client.post(_edit(org, customer, config), {"value": "", "is_secret": "on"})
    assert _value(org, customer, config) == "very-secret-value"


def test_configuration_of_another_customer_or_organization_is_404(world, acme) -> None:
    org, customer, editable, _ = acme
    sibling, globex, globex_customer = world.second_customer, world.other_org, world.other_customer
    assert client_for(org.owner).get(_edit(org, sibling, editable)).status_code == 404
    outsider = client_for(globex.owner)
    assert outsider.get(_edit(globex, globex_customer, editable)).status_code == 404
    assert (
        outsider.post(_edit(globex, globex_customer, editable), {"value": "x"}).status_code == 404
    )
    assert _value(org, customer, editable) == "15"


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_staff_reads_the_data_plane_region_by_region_without_secrets(acme) -> None:
    org, customer, _, _ = acme
    make_connection(org, customer, make_connector(org), token="tok_visible_nowhere_9876")
    staff = make_user("staff@platform.test", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    eu = client.get("/admin/dataplane/connection/", {"region": "eu"})
    assert eu.status_code == 200
    assert b"Acme CRM" in eu.content
    us = client.get("/admin/dataplane/connection/", {"region": "us"})
    from tenancy.context import region_alias

    if region_alias("us") != region_alias("eu"):
        assert b"Acme CRM" not in us.content
    config = client.get("/admin/dataplane/configuration/", {"region": "eu"})
    assert b"whsec_1234567890" not in config.content
    assert b"sync_interval" in config.content
    with in_customer(org, customer):
        from dataplane.models import Connection

        connection = Connection.objects.get()
    detail = client.get(f"/admin/dataplane/connection/{connection.id}/change/")
    assert detail.status_code == 200
    assert connection.credentials.encode() not in detail.content
    assert b"Encrypted (never shown)" in detail.content
    assert client.post("/admin/dataplane/connection/add/").status_code == 403
