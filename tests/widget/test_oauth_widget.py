"""OAuth 2.0 Connect in the widget (SPEC §11): a connect-link holder goes to the provider and
back through ``/oauth/callback/``; the attempt is bound to that link's grant."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client

from roles import catalog
from tests.conftest import ALL_DATABASES
from tests.dataplane.oauth_provider import oauth_connector, provider_redirect, running_provider
from tests.dataplane.test_oauth_flow import connections
from tests.widget.links import issue_token
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def widget_path(world: World, suffix: str = "") -> str:
    return f"/widget/{world.org.slug}/{world.customer.id}/{suffix}"


def start(client: Client, world: World, connector, token: str) -> str:
    assert client.get(widget_path(world), {"token": token}).status_code == 200  # sets the cookie
    page = client.get(widget_path(world, f"connect/{connector.id}/"), {"token": token})
    assert f"Continue to {connector.name}" in page.content.decode()
    response = client.post(
        widget_path(world, f"connect/{connector.id}/"), {"name": "My CRM", "token": token}
    )
    assert response.status_code == 302
    return str(response["Location"])


def forwarded(client: Client, location: str) -> str:
    parts = urlsplit(provider_redirect(location))
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 302
    return str(response["Location"])


def test_a_connect_link_holder_connects_through_the_provider(world, settings) -> None:
    with running_provider() as provider:
        connector = oauth_connector(world.org, provider, settings)
        token = issue_token(world.org, world.customer)
        client = Client()
        callback = forwarded(client, start(client, world, connector, token))
        assert callback.startswith(widget_path(world, "oauth/callback/"))
        response = client.get(callback)
    assert response.status_code == 302
    home = client.get(response["Location"])
    assert "Connected to My CRM" in home.content.decode()
    [connection] = connections(world)
    assert connection.name == "My CRM" and connection.status == "active"


def test_another_links_holder_cannot_finish_the_attempt(world, settings) -> None:
    with running_provider() as provider:
        connector = oauth_connector(world.org, provider, settings)
        client = Client()
        callback = forwarded(
            client, start(client, world, connector, issue_token(world.org, world.customer))
        )
        other = Client()
        other_token = issue_token(world.org, world.customer)
        assert other.get(widget_path(world), {"token": other_token}).status_code == 200
        assert other.get(callback).status_code == 404
        assert client.get(callback).status_code == 302
    assert len(connections(world)) == 1


def test_a_wrong_state_in_the_widget_says_so_and_stores_nothing(world, settings) -> None:
    with running_provider() as provider:
        oauth_connector(world.org, provider, settings)
        client = world.client(catalog.END_USER)
        response = client.get(widget_path(world, "oauth/callback/"), {"state": "x", "code": "y"})
        assert response.status_code == 302
        home = client.get(response["Location"])
    assert "did not issue" in home.content.decode()
    assert connections(world) == []
