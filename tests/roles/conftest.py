"""The roles tests use the suite's world (``tests/world.py``); their helpers are in helpers.py."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Accounts are created by the dozen here; the real hasher's cost proves nothing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
