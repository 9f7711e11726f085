"""Rotating the three keys as docs/KEYS.md says, end to end over HTTP: FIELD_ENCRYPTION_KEYS
(connection credentials stay readable while the old key is a fallback, ``rotate_credentials``
re-encrypts them, the old key can then go), EMBED_TOKEN_KEY (tokens signed with a key listed in
EMBED_TOKEN_KEY_FALLBACKS keep opening the widget, new ones are signed with the new key) and
DJANGO_SECRET_KEY (sessions survive only while the old key is in DJANGO_SECRET_KEY_FALLBACKS)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client

from dataplane.models import Connection
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import allow_local_outbound, client_for, in_customer, make_connector
from tests.dataplane.targets import running_target
from tests.factories import PASSWORD
from tests.widget.links import issue_token
from widget import tokens

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

SECRET = "tok_live_0123456789abcdefWXYZ"
MASKED = "••••WXYZ".encode()
UNREADABLE = b"cannot be decrypted"
OLD_EMBED_KEY = "old-embed-token-key-" + "o" * 40
NEW_EMBED_KEY = "new-embed-token-key-" + "n" * 40
OLD_SECRET_KEY = "old-secret-key-0123456789-0123456789-0123456789-0123456789"
NEW_SECRET_KEY = "new-secret-key-0123456789-0123456789-0123456789-0123456789"


def _stored_ciphertext(org, customer) -> str:
    """The credentials column as stored in the customer's region database."""
    with in_customer(org, customer):
        [stored] = Connection.objects.values_list("credentials", flat=True)
    return stored


def test_connection_credentials_survive_a_field_encryption_key_rotation(settings, world) -> None:
    allow_local_outbound(settings)
    org, customer = world.org, world.customer
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    owner = client_for(org.owner)
    base = f"/o/{org.slug}/customers/{customer.id}/connections/"

    with running_target() as target:
        connector = make_connector(org, base_url=target.url("/api"))
        created = owner.post(
            f"{base}new/{connector.id}/", {"name": "CRM", "credential_access_token": SECRET}
        )
        assert created.status_code == 302
        with in_customer(org, customer):
            connection_id = Connection.objects.get().id
        page, test = f"{base}{connection_id}/", f"{base}{connection_id}/test/"
        under_old_key = _stored_ciphertext(org, customer)

        # Deploying the new key without the old one would lock the credential away.
        settings.FIELD_ENCRYPTION_KEYS = [new]
        assert UNREADABLE in owner.get(page).content

        # Step 2: the new key first, the old one after it: still readable and usable.
        settings.FIELD_ENCRYPTION_KEYS = [new, old]
        shown = owner.get(page)
        assert MASKED in shown.content and UNREADABLE not in shown.content
        assert owner.post(test).status_code == 302
        assert target.requests[-1]["headers"]["Authorization"] == f"Bearer {SECRET}"
        assert _stored_ciphertext(org, customer) == under_old_key  # reading re-encrypts nothing

        # Step 3: rotate_credentials re-encrypts the stored value with the new key.
        out = io.StringIO()
        call_command("rotate_credentials", stdout=out)
        assert "Re-encrypted 1 connection(s)" in out.getvalue()
        under_new_key = _stored_ciphertext(org, customer)
        assert under_new_key != under_old_key
        assert json.loads(Fernet(new).decrypt(under_new_key.encode())) == {"access_token": SECRET}
        with pytest.raises(InvalidToken):
            Fernet(old).decrypt(under_new_key.encode())

        # Step 4: the old key dropped, everything still works.
        settings.FIELD_ENCRYPTION_KEYS = [new]
        shown = owner.get(page)
        assert MASKED in shown.content and UNREADABLE not in shown.content
        assert owner.post(test).status_code == 302
        assert target.requests[-1]["headers"]["Authorization"] == f"Bearer {SECRET}"


def _widget(org, customer) -> str:
    return f"/widget/{org.slug}/{customer.id}/"


def _opens_widget(org, customer, token: str) -> int:
    return Client().get(_widget(org, customer), {"token": token}).status_code


def _signed_with(token: str, key: str) -> bool:
    try:
        signing.loads(token, key=key, salt=tokens.SALT)
    except signing.BadSignature:
        return False
    return True


def test_embed_tokens_survive_an_embed_token_key_rotation_only_with_the_fallback(
    settings, world
) -> None:
    org, customer = world.org, world.customer
    settings.EMBED_TOKEN_KEY, settings.EMBED_TOKEN_KEY_FALLBACKS = OLD_EMBED_KEY, []
    issued_before = issue_token(org, customer, tokens.EMBED)
    assert _opens_widget(org, customer, issued_before) == 200

    settings.EMBED_TOKEN_KEY, settings.EMBED_TOKEN_KEY_FALLBACKS = NEW_EMBED_KEY, [OLD_EMBED_KEY]
    assert _opens_widget(org, customer, issued_before) == 200
    refreshed = Client().post(_widget(org, customer) + "token/refresh/", {"token": issued_before})
    assert refreshed.status_code == 200
    renewed = refreshed.json()["token"]
    issued_after = issue_token(org, customer, tokens.EMBED)
    for token in (renewed, issued_after):
        assert _signed_with(token, NEW_EMBED_KEY) and not _signed_with(token, OLD_EMBED_KEY)
        assert _opens_widget(org, customer, token) == 200

    settings.EMBED_TOKEN_KEY_FALLBACKS = []
    refused = Client().get(_widget(org, customer), {"token": issued_before})
    assert refused.status_code == 403 and b"token_invalid" in refused.content
    assert _opens_widget(org, customer, renewed) == 200
    assert _opens_widget(org, customer, issued_after) == 200


def test_a_short_embed_token_fallback_key_is_a_configuration_error(settings) -> None:
    settings.EMBED_TOKEN_KEY, settings.EMBED_TOKEN_KEY_FALLBACKS = NEW_EMBED_KEY, ["too-short"]
    with pytest.raises(ImproperlyConfigured, match="EMBED_TOKEN_KEY_FALLBACKS"):
        tokens.verify("anything")


def test_settings_read_the_embed_token_key_fallbacks_from_the_environment() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fastn_console.settings",
        "EMBED_TOKEN_KEY": NEW_EMBED_KEY,
        "EMBED_TOKEN_KEY_FALLBACKS": f"{OLD_EMBED_KEY},older-{OLD_EMBED_KEY}",
    }
    code = "from django.conf import settings; print(settings.EMBED_TOKEN_KEY_FALLBACKS)"
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == repr([OLD_EMBED_KEY, f"older-{OLD_EMBED_KEY}"])


def _signed_in(email: str) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302, "the login form refused the owner"
    return client


def test_sessions_survive_a_secret_key_rotation_only_with_the_fallback(settings, world) -> None:
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OLD_SECRET_KEY, []
    org = world.org
    home = f"/o/{org.slug}/"
    kept, dropped = _signed_in(org.owner.email), _signed_in(org.owner.email)
    assert kept.get(home).status_code == 200

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW_SECRET_KEY, [OLD_SECRET_KEY]
    assert kept.get(home).status_code == 200  # and Django re-signs it with the new key

    settings.SECRET_KEY_FALLBACKS = []
    assert kept.get(home).status_code == 200
    signed_out = dropped.get(home)
    assert signed_out.status_code == 302 and "/accounts/login/" in signed_out["Location"]
