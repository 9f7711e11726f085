"""Connections of a customer: credentials encrypted at rest, masked, tested, disconnected,
shared; count limits; permissions by role; outsiders get 404."""

from __future__ import annotations

import uuid

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connections as db_connections

from dataplane.encryption import CredentialsUnreadable, decrypt_credentials
from dataplane.models import Connection, ExecutionLog
from roles import catalog
from tenancy.context import ORGANIZATION, context, region_alias
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    allow_local_outbound,
    client_for,
    in_customer,
    make_connection,
    make_connector,
    set_customer_limit,
    set_status,
)
from tests.dataplane.targets import running_target
from tests.factories import make_customer, make_member
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

SECRET = "tok_live_0123456789abcdefWXYZ"


@pytest.fixture
def acme(world: World, settings):
    allow_local_outbound(settings)
    return world.org, world.customer, make_connector(world.org)


def _base(org, customer):
    return f"/o/{org.slug}/customers/{customer.id}/"


def _connections(org, customer):
    with in_customer(org, customer):
        return list(Connection.objects.all())


def test_owner_connects_a_customer_with_the_connectors_credential_fields(acme) -> None:
    org, customer, connector = acme
    response = client_for(org.owner).post(
        _base(org, customer) + f"connections/new/{connector.id}/",
        {"name": "CRM", "credential_access_token": SECRET},
    )
    assert response.status_code == 302
    [connection] = _connections(org, customer)
    assert connection.status == "active"
    assert SECRET not in connection.credentials
    assert decrypt_credentials(connection.credentials) == {"access_token": SECRET}


def test_missing_credential_field_is_a_form_error_and_keeps_the_name(acme) -> None:
    org, customer, connector = acme
    response = client_for(org.owner).post(
        _base(org, customer) + f"connections/new/{connector.id}/", {"name": "My CRM"}
    )
    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert b'value="My CRM"' in response.content
    assert _connections(org, customer) == []


def test_credentials_are_shown_masked_never_in_full(acme) -> None:
    org, customer, connector = acme
    connection = make_connection(org, customer, connector, token=SECRET)
    page = client_for(org.owner).get(_base(org, customer) + f"connections/{connection.id}/")
    assert page.status_code == 200
    assert SECRET.encode() not in page.content
    assert "••••WXYZ".encode() in page.content
    edit = client_for(org.owner).get(_base(org, customer) + f"connections/{connection.id}/edit/")
    assert SECRET.encode() not in edit.content


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_the_credentials_column_never_holds_plaintext(acme) -> None:
    org, customer, connector = acme
    connection = make_connection(org, customer, connector, token=SECRET)
    with db_connections[region_alias("eu", login="owner")].cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM dataplane_connection WHERE id = %s", [str(connection.id)]
        )
        (raw,) = cursor.fetchone()
    assert raw and SECRET not in raw and "access_token" not in raw
    assert raw.startswith("gAAAA")  # a Fernet token


def test_rotation_reencrypts_with_the_first_key_and_a_wrong_key_fails_loudly(
    acme, settings
) -> None:
    org, customer, connector = acme
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    connection = make_connection(org, customer, connector, token=SECRET)
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_credentials")
    settings.FIELD_ENCRYPTION_KEYS = [new]
    [rotated] = _connections(org, customer)
    assert rotated.credentials != connection.credentials
    assert decrypt_credentials(rotated.credentials) == {"access_token": SECRET}
    settings.FIELD_ENCRYPTION_KEYS = [old]
    with pytest.raises(CredentialsUnreadable):
        decrypt_credentials(rotated.credentials)
    page = client_for(org.owner).get(_base(org, customer) + f"connections/{connection.id}/")
    assert b"cannot be decrypted" in page.content


@pytest.mark.parametrize(
    ("path", "token", "status"),
    [
        ("/auth", "good-token", "active"),
        ("/auth", "bad-token", "expired"),
        ("/fail", "x", "failed"),
    ],
)
def test_test_connection_calls_the_service_and_sets_the_status(acme, path, token, status) -> None:
    org, customer, _ = acme
    with running_target() as target:
        connector = make_connector(org, name=f"Svc {path}", base_url=target.url(path))
        connection = make_connection(org, customer, connector, token=token)
        response = client_for(org.owner).post(
            _base(org, customer) + f"connections/{connection.id}/test/"
        )
    assert response.status_code == 302
    assert target.requests[0]["headers"]["Authorization"] == f"Bearer {token}"
    [tested] = _connections(org, customer)
    assert tested.status == status
    with in_customer(org, customer):
        assert ExecutionLog.objects.filter(source="connection_test").count() == 1


def test_disconnect_deletes_the_credentials(acme) -> None:
    org, customer, connector = acme
    connection = make_connection(org, customer, connector)
    client_for(org.owner).post(_base(org, customer) + f"connections/{connection.id}/disconnect/")
    [disconnected] = _connections(org, customer)
    assert (disconnected.credentials, disconnected.status) == ("", "inactive")


def test_connection_count_limit_is_enforced(acme) -> None:
    org, customer, connector = acme
    set_customer_limit(org, customer, "connections_per_customer", 1)
    make_connection(org, customer, connector)
    response = client_for(org.owner).post(
        _base(org, customer) + f"connections/new/{connector.id}/",
        {"name": "Second", "credential_access_token": SECRET},
    )
    assert b"Connections per customer limit (1) reached" in response.content
    assert len(_connections(org, customer)) == 1


def test_suspended_customer_cannot_get_new_connections(acme) -> None:
    org, customer, connector = acme
    set_status(customer, "suspended")
    response = client_for(org.owner).post(
        _base(org, customer) + f"connections/new/{connector.id}/",
        {"name": "CRM", "credential_access_token": SECRET},
    )
    assert b"changes are refused" in response.content
    assert _connections(org, customer) == []


def test_share_issues_a_connect_link_that_opens_the_widget(world, acme) -> None:
    org, customer, _ = acme
    operator = world.user(catalog.OPERATOR)
    response = client_for(operator).post(_base(org, customer) + "connections/share/")
    assert response.status_code == 200
    link = response.context["link"]
    assert f"/widget/{org.slug}/{customer.id}/?token=" in link
    widget = client_for_anonymous().get(link.split("testserver", 1)[1])
    assert widget.status_code == 200
    assert b"Northwind" in widget.content


def client_for_anonymous():
    from django.test import Client

    return Client()


# Permissions --------------------------------------------------------------------------------

ALLOWED = {
    "connections.create": {catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR, catalog.END_USER},
    "connections.update": {catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR, catalog.END_USER},
    "connections.delete": {catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR, catalog.END_USER},
    "connections.execute": {catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR, catalog.END_USER},
    "connections.share": {catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR},
}
ROLES = (catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER, catalog.END_USER)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", sorted(ALLOWED))
def test_connection_action_allowed_or_refused_by_role(world, acme, role, key) -> None:
    org, customer, _ = acme
    base = _base(org, customer)
    with running_target() as target:
        connector = make_connector(org, name="Local", base_url=target.url("/auth"))
        connection = make_connection(org, customer, connector, token="good-token")
        url, data = {
            "connections.create": (
                f"connections/new/{connector.id}/",
                {"name": "New", "credential_access_token": SECRET},
            ),
            "connections.update": (
                f"connections/{connection.id}/edit/",
                {"name": "Renamed", "credential_access_token": ""},
            ),
            "connections.delete": (f"connections/{connection.id}/disconnect/", {}),
            "connections.execute": (f"connections/{connection.id}/test/", {}),
            "connections.share": ("connections/share/", {}),
        }[key]
        user = world.user(role)
        response = client_for(user).post(base + url, data)
    rows = _connections(org, customer)
    happened = {
        "connections.create": lambda: len(rows) == 2,
        "connections.update": lambda: rows[0].name == "Renamed",
        "connections.delete": lambda: rows[0].credentials == "",
        "connections.execute": lambda: len(target.requests) == 1,
        "connections.share": lambda: response.status_code == 200 and response.context["link"],
    }[key]
    if role in ALLOWED[key]:
        assert response.status_code in (200, 302)
        assert happened()
    else:
        assert response.status_code == 403
        if key != "connections.share":
            assert not happened()


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_the_customers_connections(world, acme, role) -> None:
    org, customer, connector = acme
    connection = make_connection(org, customer, connector)
    user = world.user(role)
    page = client_for(user).get(_base(org, customer) + f"connections/{connection.id}/")
    assert page.status_code == 200


def test_viewer_sees_no_connection_buttons(world, acme) -> None:
    org, customer, connector = acme
    connection = make_connection(org, customer, connector)
    viewer = world.user(catalog.VIEWER)
    page = client_for(viewer).get(_base(org, customer) + f"connections/{connection.id}/")
    for label in (b"Test connection", b"Disconnect", b">Edit<", b"Delete"):
        assert label not in page.content


# Isolation ----------------------------------------------------------------------------------


def test_outsiders_get_404_for_connections_of_other_customers_and_organizations(
    world, acme
) -> None:
    org, customer, connector = acme
    connection = make_connection(org, customer, connector)
    sibling, globex, globex_customer = world.second_customer, world.other_org, world.other_customer
    owner = client_for(org.owner)
    # The connection under a sibling customer's pages of the same organization.
    for suffix in ("", "edit/"):
        url = _base(org, sibling) + f"connections/{connection.id}/{suffix}"
        assert owner.get(url).status_code == 404, url
    assert owner.post(_base(org, sibling) + f"connections/{connection.id}/test/").status_code == 404
    # Another organization's owner, under their own customer and under ours.
    outsider = client_for(globex.owner)
    assert (
        outsider.get(_base(globex, globex_customer) + f"connections/{connection.id}/").status_code
        == 404
    )
    assert outsider.get(_base(org, customer) + f"connections/{connection.id}/").status_code == 404
    assert (
        outsider.post(
            _base(globex, globex_customer) + f"connections/{connection.id}/disconnect/"
        ).status_code
        == 404
    )
    # A connector of another organization cannot be connected.
    assert (
        outsider.get(
            _base(globex, globex_customer) + f"connections/new/{connector.id}/"
        ).status_code
        == 404
    )
    assert owner.get(_base(org, customer) + f"connections/{uuid.uuid4()}/").status_code == 404
    [kept] = _connections(org, customer)
    assert kept.credentials


def test_end_user_of_another_customer_gets_404(acme) -> None:
    org, customer, connector = acme
    connection = make_connection(org, customer, connector)
    other = make_customer(org, "Other")
    end_user = make_member(org, catalog.END_USER, customer=other).user
    client = client_for(end_user)
    assert client.get(_base(org, customer) + f"connections/{connection.id}/").status_code == 404
    assert client.get(_base(org, other) + f"connections/{connection.id}/").status_code == 404


def test_organization_wide_scope_sees_connections_only_in_the_customers_region(acme) -> None:
    org, customer, connector = acme
    make_connection(org, customer, connector)
    with context(org_id=org.id, role=ORGANIZATION):
        counts = {
            region: Connection.objects.using(region_alias(region)).count()
            for region in ("us", "eu")
        }
    if region_alias("us") != region_alias("eu"):
        assert counts == {"us": 0, "eu": 1}
