"""Reads about single sign-on: which organization's identity provider an address goes to, and
an organization's configuration for its settings page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import QuerySet

from customers.models import Organization
from dataplane.encryption import decrypt_credentials
from roles import catalog
from roles.models import Role
from sso.models import SsoConfiguration
from tenancy.context import ORGANIZATION, context


@dataclass(frozen=True)
class SsoTarget:
    """The identity provider an address signs in with: its organization's enabled SSO."""

    org_id: uuid.UUID
    organization_name: str
    issuer: str
    client_id: str
    require_sso: bool


def email_domain_of(email: str) -> str:
    local, _, domain = email.strip().lower().rpartition("@")
    return domain if local and "." in domain else ""


def sso_target_for_email(email: str) -> SsoTarget | None:
    """The enabled SSO of the organization whose verified email domain ``email`` is at, if
    any. Every organization row is readable to the runtime login (SPEC §5.5); the verified
    domain naming the organization is what lets the sign-in enter its scope."""
    domain = email_domain_of(email)
    if not domain:
        return None
    organization = (
        Organization.objects.live().filter(email_domain=domain, email_domain_verified=True).first()
    )
    if organization is None:
        return None
    client = sso_client_for(organization.id, organization_name=organization.name)
    return client[0] if client is not None else None


def sso_client_for(
    org_id: uuid.UUID, *, organization_name: str = ""
) -> tuple[SsoTarget, str] | None:
    """The organization's enabled SSO and its client secret (decrypted), if it has one on."""
    with context(org_id=org_id, role=ORGANIZATION):
        configuration = SsoConfiguration.objects.filter(enabled=True).first()
        if configuration is None:
            return None
        secret = decrypt_credentials(configuration.client_secret_encrypted).get("client_secret", "")
    target = SsoTarget(
        org_id=org_id,
        organization_name=organization_name,
        issuer=configuration.issuer,
        client_id=configuration.client_id,
        require_sso=configuration.require_sso,
    )
    return target, secret


def sso_configuration_of(organization: Organization) -> SsoConfiguration | None:
    """The organization's configuration, in its (organization-wide) scope."""
    return (
        SsoConfiguration.objects.select_related("default_role")
        .filter(org_id=organization.id)
        .first()
    )


def default_role_choices() -> QuerySet[Role]:
    """The roles a first sign-in may give: neither Owner nor limited to one customer."""
    return (
        Role.objects.exclude(system_key=catalog.OWNER)
        .filter(customer_restricted=False)
        .order_by("-is_system", "name")
    )
