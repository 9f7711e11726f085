"""SPEC §14: a token holder's refused action is audited in the organization's log, once per
grant and action a minute, like a member's (tests/audit/test_refusals_and_reading.py)."""

from __future__ import annotations

import pytest
from django.test import Client

from audit import actions
from audit.models import AuditLogEntry
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import in_customer, make_connection, make_connector
from tests.widget.links import issue_token
from tests.world import World
from widget import tokens
from widget.models import EmbedGrant
from widget.services import embed_grant_revoke

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _refusals(world: World) -> list[AuditLogEntry]:
    with context(org_id=world.org.id, role=ORGANIZATION):
        return list(AuditLogEntry.objects.filter(action=actions.ACCESS_DENIED))


def _url(world: World, suffix: str = "") -> str:
    return f"/widget/{world.org.slug}/{world.customer.id}/{suffix}"


def test_a_revoked_token_used_again_is_recorded_once_a_minute(world: World) -> None:
    token = issue_token(world.org, world.customer, tokens.EMBED)
    grant_id = tokens.verify(token).grant_id
    with context(org_id=world.org.id, role=ORGANIZATION, user_id=world.org.owner_id):
        grant = EmbedGrant.objects.get(id=grant_id)
        embed_grant_revoke(acting_user=world.org.owner, grant=grant)
    for _ in range(3):
        response = Client().get(_url(world), {"token": token}, REMOTE_ADDR="198.51.100.7")
        assert response.status_code == 403
    [entry] = _refusals(world)
    assert entry.actor_id is None and entry.actor_label == "embed token"
    assert entry.subject_customer_id == world.customer.id
    assert entry.after == {
        "permission": "",
        "view": "widget:home",
        "method": "GET",
        "reason": "token_revoked",
    }
    assert entry.ip_address == "198.51.100.7"


def test_a_token_refused_a_permission_is_recorded_and_changes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm = make_connector(world.org, name="Acme CRM")
    connection = make_connection(world.org, world.customer, crm, token="northwind-token-2222")
    token = issue_token(world.org, world.customer)
    # A token role without the right to disconnect (today's end-user role has it).
    monkeypatch.setattr(tokens, "END_USER_KEYS", tokens.END_USER_KEYS - {"connections.delete"})
    url = _url(world, f"connections/{connection.id}/disconnect/")
    for _ in range(2):
        assert Client().post(url, {"token": token}).status_code == 403
    [entry] = _refusals(world)
    assert entry.actor_label == "connect link"
    assert entry.after == {
        "permission": "connections.delete",
        "view": "widget:disconnect",
        "method": "POST",
    }
    with in_customer(world.org, world.customer):
        assert type(connection).objects.filter(id=connection.id).exists()


def test_a_token_that_does_not_verify_names_no_organization_and_writes_nothing(
    world: World,
) -> None:
    response = Client().get(_url(world), {"token": "not-a-token"})
    assert response.status_code == 403
    assert _refusals(world) == []
