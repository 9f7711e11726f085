"""Fixtures of the SSO tests: a fake identity provider, an organization that signs in with it,
and the browser's trip through the provider."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from customers.models import Organization
from roles import catalog
from roles.models import Role
from sso.services import sso_configuration_save
from tenancy.context import ORGANIZATION, context
from tests.factories import make_org, make_user
from tests.sso.fake_idp import CLIENT_ID, CLIENT_SECRET, FakeIdP, RunningIdP

DOMAIN = "sso-acme.test"


@pytest.fixture
def idp(settings: Any) -> Iterator[FakeIdP]:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True  # the provider is plain http on loopback
    running = RunningIdP()
    yield running.idp
    running.stop()


@dataclass
class SsoOrg:
    org: Organization
    idp: FakeIdP

    def role(self, key: str) -> Role:
        with in_org(self.org):
            return Role.objects.get(system_key=key)


def in_org(org: Organization) -> context:
    return context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id)


def configure_sso(
    org: Organization,
    issuer: str,
    *,
    enabled: bool = True,
    require_sso: bool = False,
    role_key: str | None = catalog.DEVELOPER,
) -> None:
    with in_org(org):
        role = Role.objects.get(system_key=role_key) if role_key else None
        sso_configuration_save(
            acting_user=org.owner,
            organization=org,
            issuer=issuer,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            enabled=enabled,
            require_sso=require_sso,
            default_role=role,
        )


@pytest.fixture
def sso_org(idp: FakeIdP) -> SsoOrg:
    org = make_org("Acme SSO", owner=make_user(f"owner@{DOMAIN}"), email_domain=DOMAIN)
    configure_sso(org, idp.issuer)
    return SsoOrg(org, idp)


def through_idp(response_to_idp: object) -> str:
    """Follow the login page's redirect to the provider's authorize endpoint, as a browser
    would, and return where the provider sends it back (a path and query on this site)."""
    location = response_to_idp["Location"]  # type: ignore[index]
    parts = urlsplit(location)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    connection.request("GET", f"{parts.path}?{parts.query}")
    answer = connection.getresponse()
    assert answer.status == 302, answer.status
    back = urlsplit(answer.getheader("Location") or "")
    connection.close()
    return f"{back.path}?{back.query}"


def start_sign_in(client: Client, email: str) -> object:
    response = client.post(reverse("accounts:login"), {"username": email})
    assert response.status_code == 302, response.content[:500]
    return response
