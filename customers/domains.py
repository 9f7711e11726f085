"""Organization email domains: registrable, never a personal mail provider (SPEC §3).

The rules are the signup pipeline's (``signup.emailcheck``: IDNA, the bundled Public Suffix List,
the personal-provider blocklist with its sources); this module phrases them for a person changing
the domain in Settings → General.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from signup.emailcheck import EmailInvalid, normalize_domain, personal_provider, registrable_domain


def registrable_email_domain(value: str) -> str:
    """The registrable domain (``example.co.uk``) an organization may claim.

    Subdomains are refused with the domain to use instead; public suffixes and personal mail
    providers (also their subdomains, on label boundaries) are refused outright.
    """
    raw = value.strip()
    if raw.startswith("@"):
        raw = raw[1:]
    if not raw or "@" in raw or "." not in raw:
        raise ValidationError("Enter a domain such as example.com.", code="invalid")
    try:
        domain = normalize_domain(raw)
        registrable = registrable_domain(domain)
    except EmailInvalid as exc:
        message = str(exc).replace("after the @ ", "").replace(" after the @", "")
        code = "public_suffix" if "public suffix" in message else "invalid"
        raise ValidationError(message, code=code) from None
    if personal_provider(registrable) or personal_provider(domain):
        raise ValidationError(
            "Personal email providers cannot be an organization's domain.",
            code="personal_provider",
        )
    if registrable != domain:
        raise ValidationError(
            f"Use the registrable domain {registrable} rather than a subdomain.",
            code="subdomain",
        )
    return domain


def address_at_domain(address: str, domain: str) -> bool:
    local, _, host = address.strip().lower().rpartition("@")
    return bool(local) and host == domain
