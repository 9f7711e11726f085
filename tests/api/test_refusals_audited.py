"""SPEC §14: an API call refused for a missing permission (403) is in the audit log, once per
key and action per minute, with the key as the actor; allowed calls leave no refusal."""

from __future__ import annotations

import pytest

from audit import actions
from audit.models import AuditLogEntry
from roles import catalog
from tests.api.conftest import Api, make_key
from tests.conftest import ALL_DATABASES
from tests.roles.helpers import in_org
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _refusals(world: World) -> list[AuditLogEntry]:
    with in_org(world.org):
        return list(AuditLogEntry.objects.filter(action=actions.ACCESS_DENIED))


def test_a_refused_api_call_is_audited_with_the_key_and_the_permission(
    world: World, api: Api
) -> None:
    key = make_key(world.org, catalog.VIEWER, name="Read-only backend")
    response = api("POST", "/customers", key, json={"name": "Initech", "region": "us"}, params=None)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    [entry] = _refusals(world)
    assert entry.actor_id is None
    assert entry.actor_label.startswith("API key Read-only backend (")
    assert (entry.target_type, entry.target_id) == ("permission", "customers.create")
    assert entry.after["method"] == "POST"


def test_a_repeated_api_refusal_is_recorded_once_a_minute(world: World, api: Api) -> None:
    key = make_key(world.org, catalog.VIEWER)
    for _ in range(4):
        assert api("POST", "/customers", key, json={"name": "X", "region": "us"}).status_code == 403
    assert len(_refusals(world)) == 1
    other = make_key(world.org, catalog.VIEWER, name="Second backend")
    assert api("POST", "/customers", other, json={"name": "X", "region": "us"}).status_code == 403
    assert len(_refusals(world)) == 2


def test_an_allowed_api_call_records_no_refusal(world: World, api: Api) -> None:
    key = make_key(world.org, catalog.VIEWER)
    assert api("GET", "/customers", key).status_code == 200
    assert _refusals(world) == []
