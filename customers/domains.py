"""Organization email domains: registrable, never a personal mail provider (SPEC §3).

The signup pipeline keeps the full provider blocklist with its sources; this is the minimal check
the General settings need. The Public Suffix List is the copy bundled with ``publicsuffixlist``,
so nothing is fetched at run time.
"""

from __future__ import annotations

from functools import cache

from django.core.exceptions import ValidationError
from publicsuffixlist import PublicSuffixList

PERSONAL_PROVIDERS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
        "protonmail.com", "pm.me", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.ru",
        "yandex.ru", "yandex.com", "qq.com", "163.com", "126.com", "zoho.com", "tutanota.com",
        "fastmail.com", "hey.com", "mail.com", "inbox.com", "rediffmail.com", "naver.com",
    }
)  # fmt: skip


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def normalize_domain(value: str) -> str:
    """Lowercase IDNA form of a domain typed by a person; raises ``ValidationError``."""
    domain = value.strip().lower().rstrip(".")
    if domain.startswith("@"):
        domain = domain[1:]
    if not domain or "@" in domain or " " in domain or "." not in domain:
        raise ValidationError("Enter a domain such as example.com.", code="invalid")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError("Enter a valid domain name.", code="invalid") from None
    return domain


def registrable_email_domain(value: str) -> str:
    """The registrable domain (``example.co.uk``) an organization may claim.

    Subdomains are refused with the domain to use instead; public suffixes and personal mail
    providers (also their subdomains, on label boundaries) are refused outright.
    """
    domain = normalize_domain(value)
    registrable = _psl().privatesuffix(domain)
    if registrable is None:
        raise ValidationError(
            "This is a public suffix, not a domain anyone can own.", code="public_suffix"
        )
    if registrable in PERSONAL_PROVIDERS:
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
