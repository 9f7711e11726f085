"""Connection credentials encrypted at rest with ``cryptography``'s ``MultiFernet``.

``settings.FIELD_ENCRYPTION_KEYS`` is a list of Fernet keys: the first encrypts, every key
decrypts. To rotate, put a new key first, deploy, then run ``manage.py rotate_credentials``,
which re-encrypts every stored credential with the first key; the old key can then be removed.
A value no configured key can decrypt raises ``CredentialsUnreadable`` — never an empty result.
"""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class CredentialsUnreadable(RuntimeError):
    """Stored credentials that no configured key decrypts (wrong or removed key)."""


def _fernet() -> MultiFernet:
    keys = [key for key in settings.FIELD_ENCRYPTION_KEYS if key]
    if not keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is empty: connection credentials cannot be stored. "
            "Generate a key with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`."
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"FIELD_ENCRYPTION_KEYS holds a malformed key ({exc}); each key is 32 url-safe "
            "base64-encoded bytes."
        ) from None


def encrypt_credentials(values: dict[str, str]) -> str:
    if not values:
        return ""
    return _fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt_credentials(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        data = _fernet().decrypt(token.encode())
    except InvalidToken:
        raise CredentialsUnreadable(
            "Stored credentials cannot be decrypted with FIELD_ENCRYPTION_KEYS."
        ) from None
    values = json.loads(data)
    return {str(k): str(v) for k, v in values.items()}


def reencrypt(token: str) -> str:
    """The same credentials encrypted with the first key (``MultiFernet.rotate``)."""
    if not token:
        return token
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise CredentialsUnreadable(
            "Stored credentials cannot be decrypted with FIELD_ENCRYPTION_KEYS."
        ) from None


def mask(value: str) -> str:
    """Never the whole secret: the last four characters of a long value, dots otherwise."""
    if len(value) >= 12:
        return "••••" + value[-4:]
    return "••••"
