"""Writes of single sign-on: an organization's configuration, and a sign-in through its
identity provider (SPEC §14).

A sign-in is one transaction in the organization's scope: the account (first sign-in: no
usable password), the membership with the organization's default role and the audit rows are
written together or not at all. Refusals raise ``OidcRefused``; ``sso_failure_record`` writes
their audit row afterwards, in a transaction of its own.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError

from accounts.models import User
from accounts.selectors import account_for_login_name
from accounts.services import account_event_record
from audit import actions
from audit.services import audit_organization, audit_record
from customers.domains import address_at_domain
from customers.models import Organization
from customers.services.organizations import require_organization_in_scope
from dataplane import outbound
from dataplane.encryption import encrypt_credentials
from roles import catalog
from roles.models import Membership, MembershipStatus, Role
from roles.services.memberships import membership_create
from sso.models import SsoConfiguration
from sso.oidc import OidcRefused, normalized_issuer
from sso.selectors import sso_configuration_of
from tenancy.context import ORGANIZATION, context

ASK_ADMINISTRATOR = "Ask an administrator of your organization."


def _state(configuration: SsoConfiguration | None) -> dict[str, Any]:
    if configuration is None:
        return {}
    role = configuration.default_role
    return {
        "issuer": configuration.issuer,
        "client_id": configuration.client_id,
        "enabled": configuration.enabled,
        "require_sso": configuration.require_sso,
        "default_role": role.name if role is not None else "",
    }


def _refusals(
    organization: Organization,
    *,
    issuer: str,
    enabled: bool,
    require_sso: bool,
    default_role: Role | None,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if enabled and not (organization.email_domain and organization.email_domain_verified):
        errors["enabled"] = (
            "Single sign-on is bound to the organization's verified email domain: verify one "
            "in Settings → General first."
        )
    if require_sso and not enabled:
        errors["require_sso"] = "Turn single sign-on on to require it."
    try:
        outbound.check_url(issuer)
    except outbound.UnsafeURL as unsafe:
        errors["issuer"] = str(unsafe)
    if default_role is not None and (
        default_role.org_id != organization.id
        or default_role.system_key == catalog.OWNER
        or default_role.customer_restricted
    ):
        errors["default_role"] = "Choose a role that is neither Owner nor limited to a customer."
    elif enabled and default_role is None:
        errors["default_role"] = "Choose the role people get when they first sign in."
    return errors


def sso_configuration_save(
    *,
    acting_user: Any,
    organization: Organization,
    issuer: str,
    client_id: str,
    client_secret: str,
    enabled: bool,
    require_sso: bool,
    default_role: Role | None,
) -> SsoConfiguration:
    """Create or change the organization's SSO. An empty ``client_secret`` keeps the stored
    one; the secret is stored encrypted and never audited."""
    require_organization_in_scope(organization)
    issuer = normalized_issuer(issuer)
    errors = _refusals(
        organization,
        issuer=issuer,
        enabled=enabled,
        require_sso=require_sso,
        default_role=default_role,
    )
    configuration = sso_configuration_of(organization)
    if configuration is None and not client_secret:
        errors["client_secret"] = "Enter the client secret your identity provider gave."
    if errors:
        raise ValidationError(errors)
    before = _state(configuration)
    configuration = configuration or SsoConfiguration(org=organization)
    configuration.issuer = issuer
    configuration.client_id = client_id.strip()
    configuration.enabled = enabled
    configuration.require_sso = require_sso
    configuration.default_role = default_role
    if client_secret:
        configuration.client_secret_encrypted = encrypt_credentials(
            {"client_secret": client_secret}
        )
    configuration.save()
    audit_organization(
        actor=acting_user,
        action=actions.ORGANIZATION_SSO_UPDATE,
        organization_id=organization.id,
        before=before,
        after={**_state(configuration), "client_secret_changed": bool(client_secret)},
    )
    return configuration


def _identity(claims: dict[str, Any], organization: Organization) -> tuple[str, str]:
    """The email address and name the ID token vouches for, at the organization's domain."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise OidcRefused(
            "no_email",
            "Your identity provider did not share your email address, so you cannot be signed "
            f"in. {ASK_ADMINISTRATOR}",
        )
    email = email.strip().lower()
    if claims.get("email_verified") is False:
        raise OidcRefused(
            "email_unverified",
            f"Your identity provider has not verified {email}. {ASK_ADMINISTRATOR}",
        )
    if not (
        organization.email_domain_verified
        and address_at_domain(email, organization.email_domain or "")
    ):
        raise OidcRefused(
            "wrong_domain",
            f"{email} is not an address at {organization.name}'s domain. {ASK_ADMINISTRATOR}",
        )
    name = claims.get("name")
    return email, name.strip()[:150] if isinstance(name, str) else ""


def _membership(
    user: User, organization: Organization, configuration: SsoConfiguration
) -> tuple[Membership, bool]:
    """``user``'s active membership, created with the default role on a first sign-in; and
    whether it was created."""
    membership = Membership.objects.filter(user_id=user.pk).first()
    if membership is not None:
        if membership.status != MembershipStatus.ACTIVE:
            raise OidcRefused(
                "membership_disabled",
                f"Your membership of {organization.name} is disabled. {ASK_ADMINISTRATOR}",
            )
        return membership, False
    if configuration.default_role is None:
        raise OidcRefused(
            "no_default_role",
            f"{organization.name} has not chosen the role of new members yet. {ASK_ADMINISTRATOR}",
        )
    membership = membership_create(
        organization=organization, user=user, role=configuration.default_role
    )
    return membership, True


def _account(email: str, name: str, *, issuer: str, subject: str) -> tuple[User, bool]:
    """The account the provider's ``subject`` is: the member bound to it, else the account of
    ``email`` (created when there is none) — unless that one is bound to another subject of
    this provider. Returns the account and whether it was created."""
    bound = (
        Membership.objects.select_related("user")
        .filter(sso_issuer=issuer, sso_subject=subject)
        .first()
    )
    user: User | None = bound.user if bound is not None else None
    if user is None:
        user = account_for_login_name(email)
        if user is None:
            return User.objects.create_user(email=email, password=None, full_name=name), True
        other = Membership.objects.filter(user_id=user.pk, sso_issuer=issuer).exclude(
            sso_subject=""
        )
        if other.exists():
            raise OidcRefused(
                "subject_mismatch",
                f"Your identity provider signs in another person as {email} than the one this "
                f"account belongs to. {ASK_ADMINISTRATOR}",
            )
    if not user.is_active:
        raise OidcRefused("inactive", f"The account {user.email} is deactivated.")
    return user, False


def sso_sign_in(*, org_id: uuid.UUID, claims: dict[str, Any]) -> User:
    """The person a verified ID token names, signed up and admitted on their first sign-in,
    in one transaction: a refusal leaves no account, membership or audit row behind. The
    member is bound to the token's ``sub`` on their first sign-in through the provider, and
    found by it afterwards (a provider that changes the address it shows keeps the account;
    another person given a member's address is refused). The sign-in of an account with
    two-factor is audited by the code page, after the code."""
    with context(org_id=org_id, role=ORGANIZATION):
        organization = Organization.objects.live().filter(id=org_id).first()
        configuration = (
            SsoConfiguration.objects.select_related("default_role").filter(enabled=True).first()
        )
        if organization is None or configuration is None:
            raise OidcRefused("sso_disabled", "Single sign-on is not on for this organization.")
        email, name = _identity(claims, organization)
        subject = str(claims["sub"])[:255]
        user, created = _account(email, name, issuer=configuration.issuer, subject=subject)
        membership, joined = _membership(user, organization, configuration)
        binds = (membership.sso_issuer, membership.sso_subject) != (configuration.issuer, subject)
        if binds:
            Membership.objects.filter(id=membership.id).update(
                sso_issuer=configuration.issuer, sso_subject=subject
            )
        if user.has_two_factor:
            return user  # signed in (and audited) once the code page has a right code
        account_event_record(
            user=user,
            action=actions.AUTH_LOGIN,
            after={
                "method": "sso",
                "issuer": configuration.issuer,
                "new_account": created,
                "new_membership": joined,
                "bound_to_subject": binds,
            },
        )
    return user


def sso_failure_record(*, org_id: uuid.UUID, reason: str, email: str = "") -> None:
    """Audit a refused SSO sign-in in the organization it was for (with the request's address
    and user agent, like every row written during a request)."""
    with context(org_id=org_id, role=ORGANIZATION):
        user = account_for_login_name(email) if email else None
        audit_record(
            actor=user,
            action=actions.AUTH_SSO_LOGIN_FAILED,
            target_type="user" if user is not None else "",
            target_id=user.pk if user is not None else "",
            after={"reason": reason, **({"email": email} if email else {})},
            actor_label=email or "unknown person",
        )
