"""``rotate_credentials`` re-encrypts every stored secret, not only connection credentials
(docs/KEYS.md): connector client secrets, webhook signing secrets, SSO client secrets and
two-factor secrets come through a key rotation readable, and a model field that looks
encrypted cannot be left out of ``dataplane.rotation.ENCRYPTED_FIELDS``."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.core.management import call_command

from accounts.services import two_factor_enable
from accounts.two_factor import STEP_SECONDS, new_secret, totp_at
from build.models import Connector
from build.services import connector_client_secret
from dataplane.encryption import decrypt_credentials
from dataplane.rotation import ENCRYPTED_FIELDS
from sso.models import SsoConfiguration
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import make_connector
from tests.factories import make_org, make_user
from tests.sso.conftest import CLIENT_SECRET, configure_sso
from tests.webhooks.conftest import make_endpoint
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

LOOKS_ENCRYPTED = ("encrypted", "credentials", "client_secret")


def test_every_field_that_looks_encrypted_is_rotated() -> None:
    listed = {(field.model, field.field) for field in ENCRYPTED_FIELDS}
    found = {
        (model._meta.label, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if any(word in field.name for word in LOOKS_ENCRYPTED)
        and field.get_internal_type() in {"TextField", "CharField"}
    }
    assert found <= listed, f"add these to dataplane.rotation.ENCRYPTED_FIELDS: {found - listed}"
    for model, field in listed:  # and every listed field exists
        apps.get_model(model)._meta.get_field(field)


def _stored(org: Any) -> dict[str, str]:
    with context(org_id=org.id, role=ORGANIZATION):
        return {
            "connector": Connector.objects.get().client_secret,
            "webhook": WebhookEndpoint.objects.get().secret_encrypted,
            "sso": SsoConfiguration.objects.get().client_secret_encrypted,
        }


def test_rotation_reencrypts_every_kind_of_stored_secret(settings: Any) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    domain = "rotation.test"
    org = make_org("Rotation", owner=make_user(f"owner@{domain}"), email_domain=domain)
    make_connector(
        org,
        name="OAuth CRM",
        credential_fields=[],
        authorize_url="https://crm.example/authorize",
        token_url="https://crm.example/token",
        client_id="client",
        client_secret="connector-secret",
    )
    endpoint = make_endpoint(org)
    configure_sso(org, "https://idp.rotation.test")
    person = make_user("totp@example.test")
    secret = new_secret()
    two_factor_enable(
        user=person, secret=secret, code=totp_at(secret, int(time.time()) // STEP_SECONDS)
    )
    before = _stored(org)

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_credentials", stdout=out)
    for label in (
        "build.Connector.client_secret: 1",
        "webhooks.WebhookEndpoint.secret_encrypted: 1",
    ):
        assert label in out.getvalue()

    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key dropped: everything still reads
    after = _stored(org)
    for kind, token in after.items():
        assert token != before[kind], kind
        with pytest.raises(InvalidToken):
            Fernet(old).decrypt(token.encode())
    with context(org_id=org.id, role=ORGANIZATION):
        assert connector_client_secret(Connector.objects.get()) == "connector-secret"
    assert decrypt_credentials(after["webhook"])["secret"] == endpoint.secret
    assert CLIENT_SECRET in decrypt_credentials(after["sso"]).values()
    person.refresh_from_db()
    assert decrypt_credentials(person.totp_secret_encrypted) == {"totp": secret}
