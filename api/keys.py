"""The API key format and its hash (SPEC §5.7).

A key reads ``fsk_live_<organization id as 32 hex digits>_<secret>``. The organization part tells
the server which tenant context to enter before looking the key up; the key itself is found by
its hash inside that context, so a key can never be matched against another organization's rows.

Why HMAC-SHA256 and not a slow password hash: the secret is 256 random bits, so nobody can guess
it by brute force, and a slow hash (PBKDF2, Argon2) would cost tens of milliseconds on every API
call for no gain. The HMAC's key (a pepper derived from ``SECRET_KEY``) means a leaked copy of the
table alone does not even allow checking a candidate key offline. Rotating ``SECRET_KEY`` keeps
old keys working as long as the old value stays in ``SECRET_KEY_FALLBACKS``.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import salted_hmac

KEY_PREFIX = "fsk_live_"
_KEY_RE = re.compile(r"^fsk_live_(?P<org>[0-9a-f]{32})_(?P<secret>[A-Za-z0-9_-]{32,128})$")
_HASH_SALT = "fastn.api.ApiKey.secret"
DISPLAY_CHARS = 4


@dataclass(frozen=True)
class ParsedKey:
    org_id: uuid.UUID
    raw: str


@dataclass(frozen=True)
class NewKey:
    raw: str
    prefix: str
    secret_hash: str


def generate(org_id: uuid.UUID) -> NewKey:
    """A fresh key for ``org_id``: the raw value (shown once), its display prefix and hash."""
    secret = secrets.token_urlsafe(32)
    raw = f"{KEY_PREFIX}{org_id.hex}_{secret}"
    return NewKey(raw=raw, prefix=display_prefix(raw), secret_hash=hash_key(raw))


def display_prefix(raw: str) -> str:
    """What lists show: the organization part and the first characters of the secret."""
    # The secret may itself contain "_": cut after the fixed-width organization part.
    head = raw[: len(KEY_PREFIX) + 32]
    secret = raw[len(head) + 1 :]
    return f"{head}_{secret[:DISPLAY_CHARS]}"


def parse(raw: str) -> ParsedKey | None:
    match = _KEY_RE.match(raw.strip())
    if match is None:
        return None
    return ParsedKey(org_id=uuid.UUID(hex=match["org"]), raw=match.group(0))


def hash_key(raw: str, secret: str | None = None) -> str:
    return salted_hmac(_HASH_SALT, raw, secret=secret, algorithm="sha256").hexdigest()


def candidate_hashes(raw: str) -> list[str]:
    """The hash under the current secret key and under each fallback (for key rotation)."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [hash_key(raw, secret=key) for key in keys]
