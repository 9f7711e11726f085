"""OAuth 2.0 Connect in the console (SPEC §11): the provider's authorize URL with state and a
PKCE challenge, the callback that checks the state and exchanges the code with the verifier,
tokens stored encrypted — and every way it can go wrong storing nothing."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from dataplane import oauth
from dataplane.encryption import decrypt_credentials
from dataplane.models import Connection, ConnectionStatus
from roles import catalog
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import in_customer
from tests.dataplane.oauth_provider import (
    CLIENT_ID,
    oauth_connector,
    provider_redirect,
    running_provider,
)
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def provider():
    with running_provider() as running:
        yield running


@pytest.fixture
def connector(world: World, settings, provider):
    return oauth_connector(world.org, provider, settings)


def start(client, world: World, connector, suffix: str = "") -> str:
    """POST Connect (or Reconnect with ``suffix``); the provider's authorize URL."""
    path = suffix or f"connections/new/{connector.id}/"
    response = client.post(world.customer_url(suffix=path), {"name": "Northwind CRM"})
    assert response.status_code == 302, response.content
    return str(response["Location"])


def come_back(client, location: str):
    """Follow the provider back: ``/oauth/callback/`` forwards to the customer's callback."""
    parts = urlsplit(provider_redirect(location))
    forwarded = client.get(f"{parts.path}?{parts.query}")
    assert forwarded.status_code == 302
    return client.get(forwarded["Location"])


def connections(world: World) -> list[Connection]:
    with in_customer(world.org, world.customer):
        return list(Connection.objects.all())


def test_connect_redirects_to_the_provider_with_state_and_pkce(world, connector, provider) -> None:
    location = start(world.client(catalog.OWNER), world, connector)
    assert location.startswith(provider.url("/authorize?"))
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == "http://testserver/oauth/callback/"
    assert query["scope"] == "read write"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43 and query["state"]
    assert connections(world) == []  # nothing until the provider answers


def test_the_callback_stores_encrypted_tokens_with_their_expiry(world, connector, provider) -> None:
    client = world.client(catalog.OWNER)
    response = come_back(client, start(client, world, connector))
    [connection] = connections(world)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/connections/{connection.id}/")
    stored = decrypt_credentials(connection.credentials)
    assert set(stored) == {"access_token", "refresh_token"}
    assert stored["access_token"] in provider.access_tokens
    assert stored["access_token"] not in connection.credentials  # encrypted at rest
    assert connection.status == ConnectionStatus.ACTIVE and connection.name == "Northwind CRM"
    expected = timezone.now() + timedelta(seconds=3600)
    assert abs((connection.token_expires_at - expected).total_seconds()) < 30
    [exchange] = provider.token_requests
    assert exchange["grant_type"] == "authorization_code" and exchange["code_verifier"]
    assert exchange["redirect_uri"] == "http://testserver/oauth/callback/"
    page = client.get(world.customer_url(suffix=f"connections/{connection.id}/"))
    assert "access token valid until" in page.content.decode()
    assert stored["access_token"] not in page.content.decode()


def test_a_verifier_that_does_not_match_the_challenge_stores_nothing(
    world, connector, provider
) -> None:
    client = world.client(catalog.OWNER)
    location = start(client, world, connector)
    back = provider_redirect(location)
    for issued in provider.codes.values():
        issued["code_challenge"] = "another-challenge"  # as if the code had been intercepted
    parts = urlsplit(back)
    forwarded = client.get(f"{parts.path}?{parts.query}")
    response = client.get(forwarded["Location"])
    assert response.status_code == 400
    assert "invalid_grant" in response.content.decode()
    assert connections(world) == []


def test_a_state_not_issued_here_is_refused(world, connector) -> None:
    client = world.client(catalog.OWNER)
    for path in ("/oauth/callback/", world.customer_url(suffix="connections/oauth/callback/")):
        response = client.get(path, {"code": "abc", "state": "forged"})
        assert response.status_code == 400
        assert "did not issue" in response.content.decode()
    assert connections(world) == []


def test_a_reused_state_is_refused_and_stores_nothing_more(world, connector, provider) -> None:
    client = world.client(catalog.OWNER)
    parts = urlsplit(provider_redirect(start(client, world, connector)))
    forwarded = client.get(f"{parts.path}?{parts.query}")["Location"]
    assert client.get(forwarded).status_code == 302
    again = client.get(forwarded)
    assert again.status_code == 400
    assert "already finished" in again.content.decode()
    assert len(connections(world)) == 1 and len(provider.token_requests) == 1


def test_an_expired_state_is_refused(world, connector, provider, monkeypatch) -> None:
    client = world.client(catalog.OWNER)
    location = start(client, world, connector)
    monkeypatch.setattr(oauth, "STATE_MAX_AGE", -1)
    parts = urlsplit(provider_redirect(location))
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert connections(world) == [] and provider.token_requests == []


def test_an_error_from_the_provider_is_shown_and_nothing_stored(world, connector, provider) -> None:
    provider.deny = True
    client = world.client(catalog.OWNER)
    response = come_back(client, start(client, world, connector))
    assert response.status_code == 400
    text = response.content.decode()
    assert "did not authorize the connection: access_denied" in text
    assert "The user said no" in text
    assert connections(world) == [] and provider.token_requests == []


def test_a_token_endpoint_that_times_out_stores_nothing(
    world, connector, provider, monkeypatch
) -> None:
    monkeypatch.setattr(oauth, "TOKEN_TIMEOUT_SECONDS", 0.5)
    provider.hang_seconds = 3
    client = world.client(catalog.OWNER)
    location = start(client, world, connector)
    began = time.monotonic()
    response = come_back(client, location)
    assert time.monotonic() - began < 2.5
    assert response.status_code == 400
    assert "did not answer the authorization code in time" in response.content.decode()
    assert connections(world) == []


def test_a_token_endpoint_answering_5xx_stores_nothing(world, connector, provider) -> None:
    provider.fail_with = 503
    client = world.client(catalog.OWNER)
    response = come_back(client, start(client, world, connector))
    assert response.status_code == 400
    assert "server_error" in response.content.decode()
    assert connections(world) == []


@pytest.mark.parametrize("role", [catalog.OWNER, catalog.OPERATOR])
def test_members_who_may_create_connections_may_connect(world, connector, role) -> None:
    client = world.client(role)
    assert come_back(client, start(client, world, connector)).status_code == 302
    assert len(connections(world)) == 1


@pytest.mark.parametrize("role", [catalog.VIEWER])
def test_members_who_may_not_create_connections_cannot_connect(
    world, connector, provider, role
) -> None:
    response = world.client(role).post(
        world.customer_url(suffix=f"connections/new/{connector.id}/"), {"name": "x"}
    )
    assert response.status_code == 403
    assert provider.authorize_requests == []


def test_outsiders_get_404_on_connect_and_callback(world, connector, provider) -> None:
    owner = world.client(catalog.OWNER)
    parts = urlsplit(provider_redirect(start(owner, world, connector)))
    forwarded = owner.get(f"{parts.path}?{parts.query}")["Location"]
    outsider = world.outsider_client()
    connect = world.customer_url(suffix=f"connections/new/{connector.id}/")
    assert outsider.post(connect, {"name": "x"}).status_code == 404
    assert outsider.get(forwarded).status_code == 404
    # Another member of the organization cannot finish the owner's attempt either ...
    assert world.client(catalog.ADMIN).get(forwarded).status_code == 404
    # ... and the attempt is still the owner's to finish.
    assert owner.get(forwarded).status_code == 302
    assert len(connections(world)) == 1


def test_reconnect_replaces_the_tokens_of_the_same_connection(world, connector, provider) -> None:
    client = world.client(catalog.OWNER)
    come_back(client, start(client, world, connector))
    [connection] = connections(world)
    with in_customer(world.org, world.customer):
        Connection.objects.filter(id=connection.id).update(
            status=ConnectionStatus.REVOKED, status_message="revoked"
        )
    page = client.get(world.customer_url(suffix=f"connections/{connection.id}/"))
    assert "Reconnect" in page.content.decode()
    location = start(client, world, connector, suffix=f"connections/{connection.id}/edit/")
    assert come_back(client, location).status_code == 302
    [again] = connections(world)
    assert again.id == connection.id and again.status == ConnectionStatus.ACTIVE
    assert again.status_message == "" and again.credentials != connection.credentials
