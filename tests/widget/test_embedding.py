"""Embedding (SPEC §11): Settings → General → Allowed embedding origins (validated, normalized,
guarded by ``organization.manage_settings``), the widget's ``frame-ancestors`` built from them,
the signed ``fastn:*`` announcements, and ``/widget/embed/``."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from audit.models import AuditLogEntry
from roles import catalog
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import make_connection, make_connector
from tests.widget.links import issue_token
from tests.world import World
from widget import tokens
from widget.embedding import (
    EVENT_PARAMETER,
    announcing,
    embedding_origins,
    embedding_origins_set,
    origin_normalize,
    origins_parse,
)
from widget.models import EmbeddingOrigin

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _origins(world: World, org=None) -> list[str]:
    org = org or world.org
    with context(org_id=org.id, role=ORGANIZATION):
        return embedding_origins()


def _allow(world: World, *origins: str, org=None) -> None:
    org = org or world.org
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        embedding_origins_set(acting_user=org.owner, organization=org, origins=list(origins))


def _widget_url(world: World, customer=None) -> str:
    return f"/widget/{world.org.slug}/{(customer or world.customer).id}/"


# --- What an origin is ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("https://App.Example.com", "https://app.example.com"),
        ("https://app.example.com/", "https://app.example.com"),
        ("https://app.example.com:443", "https://app.example.com"),
        ("https://app.example.com:8443", "https://app.example.com:8443"),
        ("  HTTPS://app.example.com  ", "https://app.example.com"),
    ],
)
def test_origins_are_normalized(raw: str, normalized: str) -> None:
    assert origin_normalize(raw) == normalized


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("app.example.com", "not an origin"),
        ("ftp://app.example.com", "not an origin"),
        ("https://app.example.com/path", "without a path"),
        ("https://app.example.com?x=1", "without a path"),
        ("https://app.example.com#top", "without a path"),
        ("https://user:pw@app.example.com", "no user name"),
        ("https://app.example.com:99999", "not a valid origin"),
        ("https://exa mple.com", "not a valid host"),
        ("https://*.example.com", "not a valid host"),
        ("http://app.example.com", "use https"),
    ],
)
def test_bad_origins_are_refused_with_a_clear_message(raw: str, says: str) -> None:
    with pytest.raises(ValidationError) as refused:
        origin_normalize(raw)
    assert says in refused.value.messages[0]


def test_plain_http_is_accepted_only_for_localhost_while_debug(settings) -> None:
    settings.DEBUG = False
    with pytest.raises(ValidationError):
        origin_normalize("http://localhost:3000")
    settings.DEBUG = True
    assert origin_normalize("http://localhost:3000") == "http://localhost:3000"
    assert origin_normalize("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    with pytest.raises(ValidationError):
        origin_normalize("http://app.example.com")


def test_a_list_is_parsed_deduplicated_and_every_bad_line_named() -> None:
    assert origins_parse("https://a.example\nhttps://A.example/, https://b.example") == [
        "https://a.example",
        "https://b.example",
    ]
    with pytest.raises(ValidationError) as refused:
        origins_parse("https://ok.example\nhttp://bad.example\nnope")
    assert len(refused.value.messages) == 2


# --- Settings → General ---------------------------------------------------------------------


def test_general_page_shows_the_section_with_the_saved_origins(world: World) -> None:
    _allow(world, "https://app.partner.example")
    response = world.client(catalog.ADMIN).get(world.settings_url("general/"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Allowed embedding origins" in body
    assert "https://app.partner.example" in body
    assert f'action="{world.settings_url("general/embedding/")}"' in body


def test_admin_saves_origins_normalized_and_audited(world: World) -> None:
    response = world.client(catalog.ADMIN).post(
        world.settings_url("general/embedding/"),
        {"origins": "https://App.Partner.example/\nhttps://second.example:8443"},
    )
    assert response.status_code == 302
    assert response["Location"] == world.settings_url("general/")
    assert _origins(world) == ["https://app.partner.example", "https://second.example:8443"]
    with context(org_id=world.org.id, role=ORGANIZATION):
        entry = AuditLogEntry.objects.get(action="embedding_origins.update")
    assert entry.after == {
        "origins": ["https://app.partner.example", "https://second.example:8443"]
    }


def test_bad_origins_are_shown_again_with_the_text_kept_and_nothing_saved(world: World) -> None:
    _allow(world, "https://kept.example")
    response = world.client(catalog.ADMIN).post(
        world.settings_url("general/embedding/"),
        {"origins": "https://fine.example\nhttp://insecure.example"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "use https" in body
    assert "https://fine.example" in body  # the text the member typed is kept
    assert _origins(world) == ["https://kept.example"]


def test_clearing_the_list_removes_every_origin(world: World) -> None:
    _allow(world, "https://a.example", "https://b.example")
    response = world.client(catalog.OWNER).post(
        world.settings_url("general/embedding/"), {"origins": ""}
    )
    assert response.status_code == 302
    assert _origins(world) == []


def test_member_without_manage_settings_cannot_change_origins(world: World) -> None:
    _allow(world, "https://kept.example")
    client = world.client(catalog.DEVELOPER)
    assert (
        client.post(
            world.settings_url("general/embedding/"), {"origins": "https://evil.example"}
        ).status_code
        == 403
    )
    assert client.get(world.settings_url("general/embedding/")).status_code == 403
    assert _origins(world) == ["https://kept.example"]
    body = client.get(world.settings_url("general/")).content.decode()
    assert "https://kept.example" in body and 'name="origins"' not in body


def test_outsider_gets_404_for_the_origins_page(world: World) -> None:
    client = world.outsider_client()
    assert client.get(world.settings_url("general/embedding/")).status_code == 404
    assert (
        client.post(
            world.settings_url("general/embedding/"), {"origins": "https://evil.example"}
        ).status_code
        == 404
    )
    assert _origins(world) == []


def test_customer_restricted_member_cannot_reach_the_origins_page(world: World) -> None:
    response = world.client(catalog.END_USER).post(
        world.settings_url("general/embedding/"), {"origins": "https://evil.example"}
    )
    assert response.status_code in (403, 404)
    assert _origins(world) == []


def test_origins_are_the_organizations_own(world: World) -> None:
    _allow(world, "https://acme-partner.example")
    _allow(world, "https://globex-partner.example", org=world.other_org)
    assert _origins(world) == ["https://acme-partner.example"]
    assert _origins(world, world.other_org) == ["https://globex-partner.example"]
    with context(org_id=world.org.id, role=ORGANIZATION):
        assert EmbeddingOrigin.objects.count() == 1


# --- The widget's frame-ancestors and announcements -----------------------------------------


def test_widget_pages_may_be_framed_by_the_allowed_origins_only(world: World) -> None:
    _allow(world, "https://app.partner.example", "https://b.example:8443")
    _allow(world, "https://globex.example", org=world.other_org)
    token = issue_token(world.org, world.customer, tokens.EMBED)
    response = Client().get(_widget_url(world), {"token": token})
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == (
        "frame-ancestors 'self' https://app.partner.example https://b.example:8443"
    )
    body = response.content.decode()
    assert 'data-fastn-origins="https://app.partner.example https://b.example:8443"' in body
    assert "widget/widget.js" in body


def test_widget_pages_keep_their_opener_and_console_pages_do_not(world: World) -> None:
    """An OAuth popup's last page (a widget page) hands its result to the frame that opened it:
    widget pages send COOP unsafe-none; the console's own pages keep same-origin."""
    token = issue_token(world.org, world.customer, tokens.EMBED)
    widget_page = Client().get(_widget_url(world), {"token": token})
    assert widget_page["Cross-Origin-Opener-Policy"] == "unsafe-none"
    console_page = world.client(catalog.OWNER).get(f"/o/{world.org.slug}/")
    assert console_page.status_code == 200
    assert console_page["Cross-Origin-Opener-Policy"] == "same-origin"


def test_without_origins_only_the_console_may_frame_the_widget(world: World) -> None:
    token = issue_token(world.org, world.customer, tokens.EMBED)
    response = Client().get(_widget_url(world), {"token": token})
    assert response["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_connect_page_and_signed_in_widget_send_the_same_policy(world: World) -> None:
    _allow(world, "https://app.partner.example")
    connector = make_connector(world.org, name="Acme CRM")
    token = issue_token(world.org, world.customer, tokens.CONNECT_LINK)
    connect = Client().get(f"{_widget_url(world)}connect/{connector.id}/", {"token": token})
    assert connect.status_code == 200
    wanted = "frame-ancestors 'self' https://app.partner.example"
    assert connect["Content-Security-Policy"] == wanted
    member = world.client(catalog.END_USER).get(_widget_url(world))
    assert member.status_code == 200
    assert member["Content-Security-Policy"] == wanted


def test_refused_token_gets_only_self(world: World) -> None:
    _allow(world, "https://app.partner.example")
    response = Client().get(_widget_url(world), {"token": "not-a-token"})
    assert response.status_code == 403
    assert response["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_widget_cookie_is_samesite_none_and_secure_over_https(world: World) -> None:
    token = issue_token(world.org, world.customer, tokens.EMBED)
    response = Client().get(_widget_url(world), {"token": token}, secure=True)
    cookie = response.cookies["fastn_widget"]
    assert cookie["samesite"] == "None" and cookie["secure"]


def test_widget_messages_reach_a_frame_over_https_and_console_ones_stay_lax(
    world: World,
) -> None:
    connector = make_connector(world.org, name="Acme CRM")
    token = issue_token(world.org, world.customer, tokens.EMBED)
    response = Client().post(
        f"{_widget_url(world)}connect/{connector.id}/",
        {"token": token, "name": "CRM", "credential_access_token": "secret-value-1234"},
        secure=True,
    )
    cookie = response.cookies["messages"]
    assert cookie["samesite"] == "None" and cookie["secure"]
    console = world.client(catalog.ADMIN).post(
        world.settings_url("general/embedding/"), {"origins": ""}, secure=True
    )
    assert console.cookies["messages"]["samesite"] == "Lax"


def test_connecting_announces_connection_created(world: World) -> None:
    connector = make_connector(world.org, name="Acme CRM")
    token = issue_token(world.org, world.customer, tokens.EMBED)
    client = Client()
    response = client.post(
        f"{_widget_url(world)}connect/{connector.id}/",
        {"token": token, "name": "CRM", "credential_access_token": "secret-value-1234"},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    page = client.get(response["Location"])
    body = page.content.decode()
    assert 'id="fastn-announce"' in body and "fastn:connection.created" in body
    assert connector.slug in body


def test_disconnecting_announces_connection_removed(world: World) -> None:
    connector = make_connector(world.org, name="Acme CRM")
    connection = make_connection(world.org, world.customer, connector, token="tok-123456789")
    token = issue_token(world.org, world.customer, tokens.EMBED)
    client = Client()
    response = client.post(
        f"{_widget_url(world)}connections/{connection.id}/disconnect/", {"token": token}
    )
    assert response.status_code == 302
    body = client.get(response["Location"]).content.decode()
    assert "fastn:connection.removed" in body and str(connection.id) in body


def test_a_forged_or_stale_announcement_is_not_sent(world: World) -> None:
    token = issue_token(world.org, world.customer, tokens.EMBED)
    forged = Client().get(
        _widget_url(world), {"token": token, EVENT_PARAMETER: '{"type":"fastn:close"}'}
    )
    assert 'id="fastn-announce"' not in forged.content.decode()
    signed = announcing("/x", "connection.created").split(f"{EVENT_PARAMETER}=")[1]
    genuine = Client().get(
        _widget_url(world), {"token": token, EVENT_PARAMETER: signed.replace("%3A", ":")}
    )
    assert 'id="fastn-announce"' in genuine.content.decode()


# --- /widget/embed/ ----------------------------------------------------------------------------


def test_embed_entry_redirects_to_the_tokens_widget_keeping_the_claimed_origin(
    world: World,
) -> None:
    token = issue_token(world.org, world.customer, tokens.EMBED)
    response = Client().get(
        "/widget/embed/", {"token": token, "embed_origin": "https://app.partner.example"}
    )
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(_widget_url(world) + "?")
    assert "embed_origin=https%3A%2F%2Fapp.partner.example" in location
    assert Client().get(location).status_code == 200


def test_embed_entry_refuses_a_bad_token(world: World) -> None:
    response = Client().get("/widget/embed/", {"token": "forged"})
    assert response.status_code == 403
    assert response["Content-Security-Policy"] == "frame-ancestors 'self'"
