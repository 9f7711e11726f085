"""Settings → API Keys lists the embed tokens and connect links in force, each with a Revoke
button. Revoking asks ``connections.share`` (SPEC §4: the key of embed tokens and connect
links) for the token's customer; the page itself asks ``organization.manage_settings``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit import actions
from audit.models import AuditLogEntry
from roles import catalog
from roles.services import membership_create, role_create
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.factories import make_member, make_user
from tests.widget.links import issue_token
from tests.world import World
from widget import tokens
from widget.models import EmbedGrant

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def links(shared_world: World):
    """A connect link of Acme's customer Northwind, and one of Globex's customer."""
    token = issue_token(shared_world.org, shared_world.customer)
    foreign = issue_token(shared_world.other_org, shared_world.other_customer)
    return shared_world.org, shared_world.other_org, shared_world.customer, token, foreign


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _member(org, key: str):
    return make_member(org, key).user


def _settings_only_member(org):
    """A custom role that manages settings (sees the page) but may not share connections."""
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        role = role_create(
            acting_user=org.owner,
            organization=org,
            name="Settings only",
            permissions=[catalog.MANAGE_SETTINGS],
        )
        user = make_user()
        membership_create(organization=org, user=user, role=role)
    return user


def _page(org) -> str:
    return f"/o/{org.slug}/settings/api-keys/"


def _revoke_url(org, token: str) -> str:
    return f"/o/{org.slug}/settings/api-keys/embed-tokens/{tokens.verify(token).grant_id}/revoke/"


def _revoked(org, token: str) -> bool:
    with context(org_id=org.id, role=ORGANIZATION):
        grant = EmbedGrant.objects.get(id=tokens.verify(token).grant_id)
    return grant.revoked_at is not None


def test_the_page_lists_tokens_in_force_with_customer_kind_expiry_and_issuer(links) -> None:
    org, _, customer, token, _ = links
    ended = issue_token(org, customer, tokens.EMBED)
    with context(org_id=org.id, role=ORGANIZATION):
        EmbedGrant.objects.filter(id=tokens.verify(ended).grant_id).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
        grant = EmbedGrant.objects.get(id=tokens.verify(token).grant_id)
    body = _client(org.owner).get(_page(org)).content.decode()
    assert "Embed tokens and connect links" in body
    row = body[body.index("Northwind") :].split("</tr>")[0]
    assert "Connect link" in row and org.owner.email in row
    assert timezone.localtime(grant.expires_at).strftime("%Y-%m-%d %H:%M") in row
    assert _revoke_url(org, token) in body
    assert _revoke_url(org, ended) not in body  # past its end: not in force
    assert "Paris Patisserie" not in body  # another organization's


def test_admin_revokes_a_connect_link_and_the_widget_refuses_it(links) -> None:
    org, _, customer, token, _ = links
    admin = _member(org, catalog.ADMIN)
    response = _client(admin).post(_revoke_url(org, token))
    assert response.status_code == 302
    assert _revoked(org, token)
    widget = Client().get(f"/widget/{org.slug}/{customer.id}/", {"token": token})
    assert widget.status_code == 403 and b"token_revoked" in widget.content
    assert _revoke_url(org, token) not in _client(admin).get(_page(org)).content.decode()
    with context(org_id=org.id, role=ORGANIZATION):
        entry = AuditLogEntry.objects.get(action=actions.EMBED_TOKEN_REVOKE)
    assert (entry.actor_id, entry.subject_customer_id) == (admin.pk, customer.id)


def test_whoever_may_share_connections_may_revoke_a_link(links) -> None:
    """A Developer issues connect links (connections.share) without managing settings: they
    may take one back, though the API Keys page itself is not theirs."""
    org, _, _, token, _ = links
    developer = _member(org, catalog.DEVELOPER)
    assert _client(developer).get(_page(org)).status_code == 403
    assert _client(developer).post(_revoke_url(org, token)).status_code == 302
    assert _revoked(org, token)


def test_settings_manager_without_connections_share_sees_no_revoke_and_is_refused(links) -> None:
    org, _, _, token, _ = links
    client = _client(_settings_only_member(org))
    page = client.get(_page(org))
    assert page.status_code == 200 and "Northwind" in page.content.decode()
    assert _revoke_url(org, token) not in page.content.decode()
    assert client.post(_revoke_url(org, token)).status_code == 403
    assert not _revoked(org, token)


def test_viewer_can_neither_see_the_page_nor_revoke(links) -> None:
    org, _, _, token, _ = links
    client = _client(_member(org, catalog.VIEWER))
    assert client.get(_page(org)).status_code == 403
    assert client.post(_revoke_url(org, token)).status_code == 403
    assert not _revoked(org, token)


def test_outsiders_and_other_organizations_tokens_get_404(links) -> None:
    org, other, customer, token, foreign = links
    assert _client(other.owner).post(_revoke_url(org, token)).status_code == 404
    # Acme's owner, naming Globex's grant under Acme's URL.
    assert _client(org.owner).post(_revoke_url(org, foreign)).status_code == 404
    assert not _revoked(other, foreign)
    end_user = make_member(org, catalog.END_USER, customer=customer).user
    assert _client(end_user).post(_revoke_url(org, token)).status_code == 404
    assert not _revoked(org, token)


def test_revoke_is_a_post(links) -> None:
    org, _, _, token, _ = links
    assert _client(org.owner).get(_revoke_url(org, token)).status_code == 405
    assert not _revoked(org, token)


def test_the_list_pages_apart_from_the_keys(links) -> None:
    org, _, customer, _, _ = links
    for _ in range(25):
        issue_token(org, customer, tokens.EMBED)
    client = _client(org.owner)
    first = client.get(_page(org)).content.decode()
    assert "Page 1 of 2" in first and "tokens=2" in first
    second = client.get(_page(org), {"tokens": 2}).content.decode()
    assert "Page 2 of 2" in second and second.count("Revoke</button>") == 1
