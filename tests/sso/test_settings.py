"""Settings → Single sign-on: who may see and change it, what it refuses, and how the client
secret is kept."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit import actions
from audit.models import AuditLogEntry
from dataplane.encryption import decrypt_credentials
from roles import catalog
from sso.models import SsoConfiguration
from tests.conftest import ALL_DATABASES
from tests.factories import client_for, make_org, make_user
from tests.sso.conftest import DOMAIN, in_org
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

SECRET = "very-secret-client-secret-0123"


def _url(org: Any) -> str:
    return f"/o/{org.slug}/settings/sso/"


def _form(world_or_org: Any, **changes: Any) -> dict[str, Any]:
    org = getattr(world_or_org, "org", world_or_org)
    with in_org(org):
        role = org.roles.get(system_key=catalog.VIEWER)
    data = {
        "issuer": "https://login.example.com",
        "client_id": "fastn-console",
        "client_secret": SECRET,
        "default_role": str(role.id),
        "enabled": "",
        "require_sso": "",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value != ""}


def _configuration(org: Any) -> SsoConfiguration | None:
    with in_org(org):
        return SsoConfiguration.objects.filter(org_id=org.id).first()


def test_owner_sees_the_page_with_the_redirect_uri(shared_world: World) -> None:
    response = shared_world.client(catalog.OWNER).get(_url(shared_world.org))
    assert response.status_code == 200
    page = response.content.decode()
    assert "http://testserver/sso/callback/" in page
    assert "Verify a domain in Settings → General" in page
    assert ">Single sign-on</a>" in page  # the navigation entry


@pytest.mark.parametrize("role_key", [catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER])
def test_members_who_cannot_manage_settings_are_refused(shared_world: World, role_key: str) -> None:
    client = shared_world.client(role_key)
    assert client.get(_url(shared_world.org)).status_code == 403
    assert client.post(_url(shared_world.org), _form(shared_world)).status_code == 403
    assert _configuration(shared_world.org) is None
    assert ">Single sign-on</a>" not in client.get(shared_world.url()).content.decode()


def test_outsiders_and_customer_restricted_members_get_404(shared_world: World) -> None:
    assert shared_world.outsider_client().get(_url(shared_world.org)).status_code == 404
    assert shared_world.client(catalog.END_USER).get(_url(shared_world.org)).status_code == 404


def test_an_admin_saves_the_settings_and_the_secret_is_stored_encrypted(
    shared_world: World,
) -> None:
    response = shared_world.client(catalog.ADMIN).post(_url(shared_world.org), _form(shared_world))
    assert response.status_code == 302
    configuration = _configuration(shared_world.org)
    assert configuration is not None
    assert configuration.issuer == "https://login.example.com"
    assert SECRET not in configuration.client_secret_encrypted
    assert decrypt_credentials(configuration.client_secret_encrypted) == {"client_secret": SECRET}
    page = shared_world.client(catalog.ADMIN).get(_url(shared_world.org)).content.decode()
    assert SECRET not in page and "A secret is stored" in page
    with in_org(shared_world.org):
        (row,) = AuditLogEntry.objects.filter(action=actions.ORGANIZATION_SSO_UPDATE)
    assert row.after["client_secret_changed"] is True
    assert SECRET not in str(row.after) + str(row.before)


def test_an_empty_secret_keeps_the_stored_one(shared_world: World) -> None:
    client = shared_world.client(catalog.OWNER)
    client.post(_url(shared_world.org), _form(shared_world))
    response = client.post(
        _url(shared_world.org), _form(shared_world, client_secret="", client_id="renamed")
    )
    assert response.status_code == 302
    configuration = _configuration(shared_world.org)
    assert configuration is not None and configuration.client_id == "renamed"
    assert decrypt_credentials(configuration.client_secret_encrypted) == {"client_secret": SECRET}


def test_turning_it_on_needs_a_verified_email_domain(shared_world: World) -> None:
    response = shared_world.client(catalog.OWNER).post(
        _url(shared_world.org), _form(shared_world, enabled="on")
    )
    assert response.status_code == 400
    assert "verified email domain" in response.content.decode()
    assert _configuration(shared_world.org) is None


def test_the_owner_role_is_never_offered_nor_accepted() -> None:
    org = make_org("Domain Org", owner=make_user(f"boss@{DOMAIN}"), email_domain=DOMAIN)
    client = client_for(org.owner)
    page = client.get(_url(org)).content.decode()
    assert ">Viewer</option>" in page and ">Owner</option>" not in page
    assert ">End User</option>" not in page
    with in_org(org):
        owner_role = org.roles.get(system_key=catalog.OWNER)
    response = client.post(_url(org), _form(org, enabled="on", default_role=str(owner_role.id)))
    assert response.status_code == 400
    assert _configuration(org) is None


def test_requiring_sso_needs_it_on_and_a_first_save_needs_a_secret() -> None:
    org = make_org("Domain Org", owner=make_user(f"boss@{DOMAIN}"), email_domain=DOMAIN)
    client: Client = client_for(org.owner)
    response = client.post(_url(org), _form(org, require_sso="on"))
    assert response.status_code == 400 and "Turn single sign-on on to require it" in (
        response.content.decode()
    )
    response = client.post(_url(org), _form(org, client_secret=""))
    assert response.status_code == 400 and "Enter the client secret" in response.content.decode()
    response = client.post(_url(org), _form(org, issuer="http://login.example.com"))
    assert response.status_code == 400 and "Only https://" in response.content.decode()
    response = client.post(_url(org), _form(org, enabled="on", require_sso="on"))
    assert response.status_code == 302
    configuration = _configuration(org)
    assert configuration is not None and configuration.enabled and configuration.require_sso
