"""The email step of the signup pipeline (SPEC §8.1), as pure functions other apps reuse.

An address is checked for syntax, lowercased, its domain converted to ASCII (IDNA/UTS #46, so
``bücher.de`` and ``xn--bcher-kva.de`` are the same domain) and reduced to its registrable domain
with the Public Suffix List bundled in the ``publicsuffixlist`` package (no network at run time).
Personal providers come from ``signup/data/personal_domains.json`` (data, with its sources);
disposable (throw-away) mail services from the community-kept list bundled in the
``disposable-email-domains`` package (https://github.com/disposable-email-domains). Both match
on label boundaries: ``mail.gmail.com`` is Gmail, ``notgmail.com`` is not. Near-misses of a
provider (``gmial.com``) and mistyped top-level domains (``acme.con``) get a hint, never a block.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import idna
from disposable_email_domains import blocklist as disposable_blocklist
from publicsuffixlist import PublicSuffixList

BLOCKLIST_PATH = Path(__file__).resolve().parent / "data" / "personal_domains.json"

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_LENGTH = 64
MAX_DOMAIN_LENGTH = 253
MAX_LABEL_LENGTH = 63

_LOCAL_PART = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")

# Top-level domains people mistype, and what they almost certainly meant.
_SUFFIX_TYPOS = {
    "con": "com",
    "cmo": "com",
    "ocm": "com",
    "comm": "com",
    "coom": "com",
    "cim": "com",
    "vom": "com",
    "xom": "com",
    "nte": "net",
    "ent": "net",
    "nett": "net",
    "ogr": "org",
    "orgg": "org",
    "rog": "org",
}


class EmailInvalid(ValueError):
    """The address cannot be used; the message is fit to show to the person who typed it."""


@dataclass(frozen=True)
class EmailCheck:
    email: str
    domain: str
    registrable_domain: str
    personal_provider: str | None
    hint: str
    disposable: bool = False

    @property
    def is_personal(self) -> bool:
        """Refused: a personal provider or a disposable mail service."""
        return self.personal_provider is not None


@cache
def _public_suffixes() -> PublicSuffixList:
    return PublicSuffixList()


@cache
def personal_domains() -> frozenset[str]:
    data = json.loads(BLOCKLIST_PATH.read_text(encoding="utf-8"))
    return frozenset(str(domain).lower() for domain in data["domains"])


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"} for char in value)


def normalize_domain(raw: str) -> str:
    """The lowercase ASCII form of ``raw`` (IDNA), without a trailing dot; raises EmailInvalid."""
    domain = raw.strip()
    if domain.endswith("."):
        domain = domain[:-1]
    if not domain or _has_control_characters(domain) or " " in domain:
        raise EmailInvalid("Enter a valid domain after the @.")
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise EmailInvalid("The domain after the @ is not a valid domain name.") from None
    ascii_domain = ascii_domain.lower()
    labels = ascii_domain.split(".")
    if len(ascii_domain) > MAX_DOMAIN_LENGTH or len(labels) < 2:
        raise EmailInvalid("Enter a full domain after the @, such as example.com.")
    for label in labels:
        if len(label) > MAX_LABEL_LENGTH or not _LABEL.match(label):
            raise EmailInvalid("The domain after the @ is not a valid domain name.")
    if labels[-1].isdigit():
        raise EmailInvalid("Enter a domain name after the @, not an IP address.")
    return ascii_domain


def normalize_email(raw: str) -> str:
    """``local@domain`` in lowercase with an ASCII domain; raises EmailInvalid."""
    value = raw.strip()
    if not value or _has_control_characters(value):
        raise EmailInvalid("Enter a valid email address.")
    if value.count("@") != 1:
        raise EmailInvalid("Enter a valid email address, such as you@yourcompany.com.")
    local, domain = value.split("@")
    local = local.lower()
    if not local or len(local) > MAX_LOCAL_LENGTH or not _LOCAL_PART.match(local):
        raise EmailInvalid("The part before the @ is not valid.")
    email = f"{local}@{normalize_domain(domain)}"
    if len(email) > MAX_EMAIL_LENGTH:
        raise EmailInvalid("This email address is too long.")
    return email


def registrable_domain(email_or_domain: str) -> str:
    """The domain an organization can hold: ``jo@eu.mail.acme.co.uk`` → ``acme.co.uk``.

    Raises EmailInvalid for a public suffix on its own (``co.uk``) or a malformed value.
    """
    value = email_or_domain.strip()
    domain = normalize_email(value).split("@")[1] if "@" in value else normalize_domain(value)
    registrable = _public_suffixes().privatesuffix(domain)
    if not registrable:
        raise EmailInvalid(f"{domain} is a public suffix, not a domain an organization can own.")
    return str(registrable)


def _listed_parent(domain: str, listed: frozenset[str] | set[str]) -> str | None:
    """``domain`` itself or its nearest listed parent on a label boundary, or None."""
    try:
        ascii_domain = normalize_domain(domain)
    except EmailInvalid:
        return None
    labels = ascii_domain.split(".")
    for start in range(len(labels) - 1):
        candidate = ".".join(labels[start:])
        if candidate in listed:
            return candidate
    return None


def disposable_provider(domain: str) -> str | None:
    """The disposable mail service ``domain`` belongs to, unless it is a personal provider."""
    if _listed_parent(domain, personal_domains()) is not None:
        return None
    return _listed_parent(domain, disposable_blocklist)


def personal_provider(domain: str) -> str | None:
    """The personal provider ``domain`` belongs to (itself or a parent on a label boundary)."""
    return _listed_parent(domain, personal_domains())


def is_personal_domain(domain: str) -> bool:
    return personal_provider(domain) is not None


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, transpositions."""
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        previous_previous, previous = previous, current
    return previous[len(b)]


def _allowed_distance(provider_label: str) -> int:
    # Short provider names sit an edit or two away from many real companies (acme is two edits
    # from me, qa one from qq), so only longer names earn a hint, and a two-edit slip only the
    # longest ones.
    if len(provider_label) <= 3:
        return 0
    return 1 if len(provider_label) <= 5 else 2


def _split_registrable(domain: str) -> tuple[str, str]:
    """``mail.acme.co.uk`` → (``acme``, ``co.uk``)."""
    suffix = str(_public_suffixes().publicsuffix(domain) or domain.rpartition(".")[2])
    head = domain[: -len(suffix) - 1] if domain.endswith("." + suffix) else domain
    return head.rpartition(".")[2], suffix


def suggest_domain(domain: str) -> str | None:
    """A likely intended domain for a near-miss, or None. Never blocks anything.

    ``gmial.com`` suggests ``gmail.com`` (same suffix, a label one or two edits away);
    ``notgmail.com`` suggests nothing, because a name that contains a provider's whole name plus
    more is a different brand, not a slip. ``acme.con`` suggests ``acme.com``.
    """
    try:
        ascii_domain = normalize_domain(domain)
    except EmailInvalid:
        return None
    if is_personal_domain(ascii_domain):
        return None
    label, suffix = _split_registrable(ascii_domain)
    providers = [
        (provider, *_split_registrable(provider)) for provider in sorted(personal_domains())
    ]
    if any(
        provider_suffix == suffix
        and len(provider_label) > 3
        and provider_label in label
        and len(label) - len(provider_label) >= 3
        for _, provider_label, provider_suffix in providers
    ):
        return None
    best: tuple[int, str] | None = None
    for provider, provider_label, provider_suffix in providers:
        if provider_suffix != suffix:
            continue
        distance = edit_distance(label, provider_label)
        if 0 < distance <= _allowed_distance(provider_label) and (
            best is None or distance < best[0]
        ):
            best = (distance, provider)
    if best is not None:
        return best[1]
    head, _, last = ascii_domain.rpartition(".")
    if last in _SUFFIX_TYPOS and head:
        return f"{head}.{_SUFFIX_TYPOS[last]}"
    return None


def check_email(raw: str) -> EmailCheck:
    """Everything the email step needs to know about ``raw``; raises EmailInvalid."""
    email = normalize_email(raw)
    domain = email.split("@")[1]
    registrable = registrable_domain(domain)
    provider = personal_provider(domain)
    suggestion = suggest_domain(domain) if provider is None else None
    # A near-miss of a provider gets a hint, never a block (SPEC §8), even where the disposable
    # list also names it (it lists typo domains such as gmial.com).
    disposable = None if provider or suggestion else disposable_provider(domain)
    return EmailCheck(
        email=email,
        domain=domain,
        registrable_domain=registrable,
        personal_provider=provider or disposable,
        hint=suggestion or "",
        disposable=disposable is not None,
    )
