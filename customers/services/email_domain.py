"""Changing an organization's email domain: nothing changes until the emailed link is
followed, or Fastn staff approve the pending change (SPEC §3).

The pending change is an ``EmailDomainChange`` row, readable only organization-wide in its
organization, never a column of the organizations table that everyone reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from audit import actions
from audit.services import audit_organization
from customers.domains import address_at_domain, registrable_email_domain
from customers.models import EmailDomainChange, Organization
from customers.services.organizations import platform_audit, require_organization_in_scope
from tenancy.context import on_commit, require_scope

DOMAIN_TOKEN_SALT = "customers.email-domain"
DOMAIN_TOKEN_MAX_AGE = 3 * 24 * 3600
CLAIMED_MEANWHILE = "Another organization has claimed this domain in the meantime."


def _domain_taken(domain: str, organization: Organization) -> bool:
    return Organization.objects.filter(email_domain=domain).exclude(id=organization.id).exists()


def pending_email_domain(
    organization: Organization, *, for_update: bool = False
) -> EmailDomainChange | None:
    """The organization's pending domain change, if any (in its scope, or the platform's)."""
    changes = EmailDomainChange.objects.filter(org_id=organization.id)
    return (changes.select_for_update() if for_update else changes).first()


def domain_token(*, organization: Organization, domain: str) -> str:
    return signing.dumps(
        {"org": str(organization.id), "domain": domain}, salt=DOMAIN_TOKEN_SALT, compress=True
    )


def domain_token_read(token: str) -> tuple[uuid.UUID, str]:
    """The organization and domain a verification link is for; ``ValidationError`` if the link
    was altered or has expired."""
    try:
        data = signing.loads(token, salt=DOMAIN_TOKEN_SALT, max_age=DOMAIN_TOKEN_MAX_AGE)
        return uuid.UUID(data["org"]), str(data["domain"])
    except signing.SignatureExpired:
        raise ValidationError(
            "This verification link has expired. Ask for a new one in Settings → General."
        ) from None
    except (signing.BadSignature, KeyError, ValueError, TypeError):
        raise ValidationError("This verification link is not valid.") from None


def organization_email_domain_request(
    *,
    acting_user: Any,
    organization: Organization,
    domain: str,
    address: str,
    build_link: Callable[[str], str],
) -> Organization:
    """Start a domain change: nothing changes until the emailed link is followed (or staff
    approve it). ``build_link`` turns the signed token into an absolute URL."""
    require_organization_in_scope(organization)
    try:
        domain = registrable_email_domain(domain)
    except ValidationError as exc:
        raise ValidationError({"email_domain": exc.messages}) from None
    if domain == organization.email_domain:
        raise ValidationError({"email_domain": "This is already the organization's domain."})
    if _domain_taken(domain, organization):
        raise ValidationError({"email_domain": "Another organization already uses this domain."})
    address = address.strip().lower()
    if not address_at_domain(address, domain):
        raise ValidationError({"verification_email": f"Enter an address ending in @{domain}."})
    EmailDomainChange.objects.update_or_create(
        org=organization, defaults={"domain": domain, "sent_to": address}
    )
    audit_organization(
        actor=acting_user,
        action=actions.ORGANIZATION_EMAIL_DOMAIN_REQUEST,
        organization_id=organization.id,
        before={"email_domain": organization.email_domain},
        after={"pending_email_domain": domain, "sent_to": address},
    )
    link = build_link(domain_token(organization=organization, domain=domain))
    body = (
        f"{acting_user.email} asked to set {domain} as the email domain of "
        f"{organization.name} on Fastn Console.\n\nConfirm it here (the link expires in 3 days):"
        f"\n{link}\n\nIf you did not expect this, ignore this message: nothing changes."
    )
    on_commit(
        lambda: send_mail(
            f"Confirm {domain} for {organization.name}",
            body,
            settings.DEFAULT_FROM_EMAIL,
            [address],
        )
    )
    return organization


def organization_email_domain_cancel(*, acting_user: Any, organization: Organization) -> None:
    require_organization_in_scope(organization)
    pending = pending_email_domain(organization)
    if pending is None:
        return
    pending.delete()
    audit_organization(
        actor=acting_user,
        action=actions.ORGANIZATION_EMAIL_DOMAIN_CANCEL,
        organization_id=organization.id,
        before={"pending_email_domain": pending.domain},
    )


def _apply_pending_domain(organization: Organization, domain: str) -> dict[str, Any]:
    try:
        with transaction.atomic(using=organization._state.db or "default"):
            pending = pending_email_domain(organization, for_update=True)
            if pending is None or pending.domain != domain:
                raise ValidationError(
                    "This link is for a domain change that was cancelled or replaced by a "
                    "newer one."
                )
            if _domain_taken(domain, organization):
                raise ValidationError(CLAIMED_MEANWHILE)
            before = {"email_domain": organization.email_domain}
            organization.email_domain = domain
            organization.email_domain_verified = True
            organization.save(update_fields=["email_domain", "email_domain_verified"])
            pending.delete()
    except IntegrityError:
        raise ValidationError(CLAIMED_MEANWHILE) from None
    return before


def organization_email_domain_confirm(*, acting_user: Any, token: str) -> Organization:
    """Apply a domain change from its emailed link. Runs in the organization's scope."""
    org_id, domain = domain_token_read(token)
    if require_scope().org_id != org_id:
        raise ValidationError("This verification link is for another organization.")
    organization = Organization.objects.select_for_update().get(id=org_id)
    before = _apply_pending_domain(organization, domain)
    audit_organization(
        actor=acting_user,
        action=actions.ORGANIZATION_EMAIL_DOMAIN_VERIFIED,
        organization_id=organization.id,
        before=before,
        after={"email_domain": domain, "via": "email link"},
    )
    return organization


def organization_email_domain_approve(*, acting_user: Any, organization: Organization) -> None:
    """Staff approve a pending domain change without the emailed link (platform scope)."""
    if not require_scope().platform:
        raise ValidationError("Only Fastn staff approve a domain change without its link.")
    pending = pending_email_domain(organization)
    if pending is None:
        raise ValidationError(f"{organization.name} has no pending domain change.")
    domain = pending.domain
    before = _apply_pending_domain(organization, domain)
    platform_audit(
        organization=organization,
        actor=acting_user,
        action=actions.ORGANIZATION_EMAIL_DOMAIN_VERIFIED,
        before=before,
        after={"email_domain": domain, "via": "staff approval"},
    )
