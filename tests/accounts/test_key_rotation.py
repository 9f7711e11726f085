"""Rotating DJANGO_SECRET_KEY: with the old key in DJANGO_SECRET_KEY_FALLBACKS, sessions and
API keys made under it keep working (an API key used meanwhile is stored again under the new
key); without it they stop."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.test import Client

from tests.api.conftest import make_key
from tests.conftest import ALL_DATABASES
from tests.factories import make_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

OLD_KEY = "old-secret-key-0123456789-0123456789-0123456789-0123456789"
NEW_KEY = "new-secret-key-0123456789-0123456789-0123456789-0123456789"


def test_settings_read_the_fallbacks_from_the_environment() -> None:
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": NEW_KEY,
        "DJANGO_SECRET_KEY_FALLBACKS": f"{OLD_KEY},older",
    }
    code = "from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)"
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**env, "DJANGO_SETTINGS_MODULE": "fastn_console.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == repr([OLD_KEY, "older"])


def test_api_keys_survive_a_rotation_only_with_the_fallback(settings) -> None:
    """A key used while the fallback is configured is stored again under the new secret key
    (api.auth, docs/KEYS.md) and outlives the fallback; a key not used meanwhile does not."""
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD_KEY, []
    org = make_org()
    used, unused = make_key(org), make_key(org)

    def status(raw: str) -> int:
        return (
            Client()
            .get("/api/v1/customers", headers={"Authorization": f"Bearer {raw}"})
            .status_code
        )

    assert status(used) == 200

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]
    assert status(used) == 200

    settings.SECRET_KEY_FALLBACKS = []
    assert status(used) == 200
    assert status(unused) == 401


def test_sessions_survive_a_rotation_only_with_the_fallback(settings) -> None:
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD_KEY, []
    org = make_org()
    kept, dropped = Client(), Client()
    kept.force_login(org.owner)
    dropped.force_login(org.owner)
    home = f"/o/{org.slug}/"

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]
    assert kept.get(home).status_code == 200  # and Django re-signs it with the new key

    settings.SECRET_KEY_FALLBACKS = []
    assert kept.get(home).status_code == 200
    assert dropped.get(home).status_code == 302  # made under the old key: signed out
