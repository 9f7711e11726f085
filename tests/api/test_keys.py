"""API keys: hashed at rest, shown once, revocable, presets bounded by the creator (issue 9)."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connections
from django.test import Client

from api import keys as key_format
from api.models import ApiKey
from api.services import api_key_create
from audit.models import AuditLogEntry
from roles import catalog
from roles.models import Membership, Role
from tenancy.context import ORGANIZATION, context
from tests.api.conftest import Api, make_key
from tests.conftest import ALL_DATABASES
from tests.factories import make_org
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _keys_url(org) -> str:
    return f"/o/{org.slug}/settings/api-keys/"


def _create_form(org, role_key: str = "viewer", **extra) -> dict:
    with context(org_id=org.id, role=ORGANIZATION):
        role = Role.objects.get(system_key=role_key)
    return {"name": "Billing backend", "role": str(role.id), "scope": "all", **extra}


@pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)
def test_key_is_stored_only_as_a_hash_and_shown_once(world: World) -> None:
    response = _client(world.org.owner).post(_keys_url(world.org) + "new/", _create_form(world.org))
    assert response.status_code == 200
    raw = response.context["secret"]
    assert raw.startswith(f"fsk_live_{world.org.id.hex}_")
    assert raw.encode() in response.content
    assert "no-store" in response["Cache-Control"]
    secret = raw[len(f"fsk_live_{world.org.id.hex}_") :]
    # Read the table as the owner login, past row-level security: no column holds the secret.
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT * FROM api_apikey WHERE org_id = %s", [world.org.id])
        rows = cursor.fetchall()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0])
    assert secret not in stored and raw not in stored
    assert key_format.hash_key(raw) in stored
    listing = _client(world.org.owner).get(_keys_url(world.org))
    assert listing.status_code == 200
    assert b"Billing backend" in listing.content
    assert secret.encode() not in listing.content


def test_created_key_authenticates_and_records_last_use(world: World, api: Api) -> None:
    raw = make_key(world.org, "viewer")
    response = api("GET", "/key", raw)
    assert response.status_code == 200, response.content
    assert response.json()["preset"] == "Viewer"
    with context(org_id=world.org.id, role=ORGANIZATION):
        assert ApiKey.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        "Bearer fsk_live_" + "0" * 32 + "_" + "a" * 43,
    ],
)
def test_missing_malformed_and_unknown_keys_are_401(world: World, api: Api, header) -> None:
    headers = {"Authorization": header} if header else {}
    response = api.client.get("/api/v1/customers", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"missing_api_key", "invalid_api_key"}


def test_wrong_secret_for_a_real_organization_is_401(world: World, api: Api) -> None:
    raw = make_key(world.org)
    wrong = raw[:-6] + ("AAAAAA" if not raw.endswith("AAAAAA") else "BBBBBB")
    response = api("GET", "/customers", wrong)
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "invalid_api_key", "message": "The API key is not valid."}
    }


def test_key_presented_with_another_organizations_id_is_401(world: World, api: Api) -> None:
    raw = make_key(world.org)
    swapped = raw.replace(world.org.id.hex, world.other_org.id.hex)
    assert api("GET", "/customers", swapped).status_code == 401


def test_revoked_key_is_401_at_once(world: World, api: Api) -> None:
    raw = make_key(world.org)
    assert api("GET", "/customers", raw).status_code == 200
    with context(org_id=world.org.id, role=ORGANIZATION):
        key = ApiKey.objects.get()
    response = _client(world.org.owner).post(_keys_url(world.org) + f"{key.id}/revoke/")
    assert response.status_code == 302
    revoked = api("GET", "/customers", raw)
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "api_key_revoked"
    with context(org_id=world.org.id, role=ORGANIZATION):
        actions = set(AuditLogEntry.objects.values_list("action", flat=True))
    assert {"api_key.create", "api_key.revoke"} <= actions


def test_admin_can_open_and_create_keys(world: World) -> None:
    admin = world.user(catalog.ADMIN)
    client = _client(admin)
    assert client.get(_keys_url(world.org)).status_code == 200
    assert client.get(_keys_url(world.org) + "new/").status_code == 200
    response = client.post(_keys_url(world.org) + "new/", _create_form(world.org, "developer"))
    assert response.status_code == 200
    assert "secret" in response.context


def test_developer_cannot_manage_keys(world: World) -> None:
    developer = world.user(catalog.DEVELOPER)
    client = _client(developer)
    assert client.get(_keys_url(world.org)).status_code == 403
    response = client.post(_keys_url(world.org) + "new/", _create_form(world.org))
    assert response.status_code == 403
    with context(org_id=world.org.id, role=ORGANIZATION):
        assert not ApiKey.objects.exists()


def test_outsider_gets_404_for_keys_page_and_another_organizations_key(world: World) -> None:
    make_key(world.other_org)
    with context(org_id=world.other_org.id, role=ORGANIZATION):
        globex_key = ApiKey.objects.get()
    assert _client(world.other_org.owner).get(_keys_url(world.org)).status_code == 404
    own_slug_other_key = f"{_keys_url(world.org)}{globex_key.id}/revoke/"
    assert _client(world.org.owner).post(own_slug_other_key).status_code == 404
    assert (
        _client(world.org.owner).get(f"{_keys_url(world.org)}{uuid.uuid4()}/revoke/").status_code
        == 404
    )
    with context(org_id=world.other_org.id, role=ORGANIZATION):
        assert ApiKey.objects.get().revoked_at is None


def test_customer_restricted_member_gets_404(world: World) -> None:
    end_user = world.user(catalog.END_USER)
    assert _client(end_user).get(_keys_url(world.org)).status_code == 404


def _offered_presets(response) -> set[str]:
    form = response.content.decode()
    select = form[form.index('name="role"') : form.index("</select>", form.index('name="role"'))]
    return set(re.findall(r"<option value=\"[0-9a-f-]+\"[^>]*>([^<—]+) —", select))


def test_owner_preset_is_never_offered_nor_accepted(world: World) -> None:
    response = _client(world.org.owner).get(_keys_url(world.org) + "new/")
    offered = {name.strip() for name in _offered_presets(response)}
    assert offered == {"Admin", "Developer", "Operator", "Viewer", "End User"}
    posted = _client(world.org.owner).post(
        _keys_url(world.org) + "new/", _create_form(world.org, catalog.OWNER)
    )
    assert posted.status_code == 200 and "secret" not in posted.context
    assert posted.context["form"].errors["role"]


def test_preset_above_the_creators_permissions_is_refused(world: World) -> None:
    # A custom role that may manage settings but holds nothing else of the catalog.
    with context(org_id=world.org.id, role=ORGANIZATION, user_id=world.org.owner_id):
        from roles.services import role_sync_grants

        settings_role = Role.objects.create(
            org=world.org, name="Settings only", permissions=["organization.manage_settings"]
        )
        role_sync_grants(role=settings_role)
    member_user = world.user(catalog.VIEWER)
    with context(org_id=world.org.id, role=ORGANIZATION, user_id=world.org.owner_id):
        membership = Membership.objects.get(user=member_user)
        from django.contrib.auth.models import Group

        from roles.services import role_group_name

        Group.objects.get(name=role_group_name(membership.role)).user_set.remove(member_user)
        Group.objects.get(name=role_group_name(settings_role)).user_set.add(member_user)
        membership.role = settings_role
        membership.save(update_fields=["role"])
    client = _client(member_user)
    page = client.get(_keys_url(world.org) + "new/")
    assert page.status_code == 200
    assert {name.strip() for name in _offered_presets(page)} == {"Settings only"}
    refused = client.post(_keys_url(world.org) + "new/", _create_form(world.org, "viewer"))
    assert "secret" not in refused.context
    with context(org_id=world.org.id, role=ORGANIZATION, user_id=member_user.pk):
        with pytest.raises(ValidationError):
            api_key_create(
                acting_user=member_user,
                membership=Membership.objects.get(user=member_user),
                organization=world.org,
                name="Too much",
                role=Role.objects.get(system_key="viewer"),
                all_customers=True,
            )


def test_keys_per_organization_cap_applies() -> None:
    org = make_org(plan_code="free")  # two keys on Free
    make_key(org, name="one")
    make_key(org, name="two")
    with pytest.raises(ValidationError) as refused:
        make_key(org, name="three")
    assert "API keys per organization" in str(refused.value)


def test_selected_customers_scope_needs_customers_and_is_stored(world: World) -> None:
    form = _create_form(world.org, scope="selected")
    response = _client(world.org.owner).post(_keys_url(world.org) + "new/", form)
    assert response.context["form"].errors["customers"]
    form["customers"] = [str(world.customer.id)]
    created = _client(world.org.owner).post(_keys_url(world.org) + "new/", form)
    assert "secret" in created.context
    with context(org_id=world.org.id, role=ORGANIZATION):
        key = ApiKey.objects.get()
        assert key.all_customers is False
        assert [link.customer_id for link in key.customer_links.all()] == [world.customer.id]


def test_removing_the_creator_keeps_the_key_working(world: World, api: Api) -> None:
    admin = world.user(catalog.ADMIN)
    response = _client(admin).post(_keys_url(world.org) + "new/", _create_form(world.org, "viewer"))
    raw = response.context["secret"]
    with context(org_id=world.org.id, role=ORGANIZATION, user_id=world.org.owner_id):
        Membership.objects.filter(user=admin).delete()
    assert api("GET", "/customers", raw).status_code == 200


def test_suspended_organization_cannot_create_keys(world: World) -> None:
    with context(org_id=world.org.id, role=ORGANIZATION):
        type(world.org).objects.filter(id=world.org.id).update(status="suspended")
    response = _client(world.org.owner).post(_keys_url(world.org) + "new/", _create_form(world.org))
    assert response.status_code == 403
    assert b"organization_suspended" in response.content
    with context(org_id=world.org.id, role=ORGANIZATION):
        assert not ApiKey.objects.filter(name=_create_form(world.org)["name"]).exists()
