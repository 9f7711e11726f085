"""Every value stored encrypted with ``FIELD_ENCRYPTION_KEYS``, and re-encrypting them all with
the first key (``manage.py rotate_credentials``, docs/KEYS.md).

A field that stores ``dataplane.encryption`` ciphertext belongs in ``ENCRYPTED_FIELDS``: a
field left out would stay under the old key, and dropping that key would lock it away for good.
``tests/ops/test_rotation_registry.py`` fails when a model field that looks encrypted is not
listed.

Rows are read where their policies let the runtime login see them: customer data in each
customer's context, organization rows organization-wide, people's rows (no tenant) as they are.
Each organization's counts are audited in that organization (counts only, never values).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

from django.apps import apps
from django.db import transaction

from audit import actions
from audit.services import audit_record
from customers.models import Customer, Organization
from dataplane.encryption import reencrypt
from tenancy.context import context

CUSTOMER_ROWS = "customer"
ORGANIZATION_ROWS = "organization"
PEOPLE_ROWS = "people"


@dataclass(frozen=True)
class EncryptedField:
    model: str  # "app_label.ModelName"
    field: str
    rows: str  # CUSTOMER_ROWS, ORGANIZATION_ROWS or PEOPLE_ROWS

    @property
    def label(self) -> str:
        return f"{self.model}.{self.field}"


ENCRYPTED_FIELDS: tuple[EncryptedField, ...] = (
    EncryptedField("dataplane.Connection", "credentials", CUSTOMER_ROWS),
    EncryptedField("build.Connector", "client_secret", ORGANIZATION_ROWS),
    EncryptedField("webhooks.WebhookEndpoint", "secret_encrypted", ORGANIZATION_ROWS),
    EncryptedField("sso.SsoConfiguration", "client_secret_encrypted", ORGANIZATION_ROWS),
    EncryptedField("accounts.User", "totp_secret_encrypted", PEOPLE_ROWS),
    EncryptedField("customers.Customer", "inbound_secret_encrypted", ORGANIZATION_ROWS),
)
CONNECTIONS = "dataplane.Connection.credentials"


@dataclass
class RotationCounts:
    organizations: int = 0
    customers: int = 0
    values: Counter[str] | None = None

    @property
    def connections(self) -> int:
        return (self.values or Counter())[CONNECTIONS]


def _fields(rows: str) -> list[EncryptedField]:
    return [field for field in ENCRYPTED_FIELDS if field.rows == rows]


def _reencrypt_rows(field: EncryptedField) -> int:
    """Re-encrypt ``field`` in every row of its model visible in the scope in force."""
    model = apps.get_model(field.model)
    done = 0
    for row in model._default_manager.select_for_update().exclude(**{field.field: ""}):
        setattr(row, field.field, reencrypt(getattr(row, field.field)))
        row.save(update_fields=[field.field])
        done += 1
    return done


def _organization_reencrypt(org_id: uuid.UUID, counts: RotationCounts) -> Counter[str]:
    done: Counter[str] = Counter()
    with context(org_id=org_id):
        customers = list(Customer.objects.values_list("id", flat=True))
        for field in _fields(ORGANIZATION_ROWS):
            done[field.label] += _reencrypt_rows(field)
    for customer_id in customers:  # one transaction a customer
        with context(org_id=org_id, customer_id=customer_id):
            for field in _fields(CUSTOMER_ROWS):
                done[field.label] += _reencrypt_rows(field)
        counts.customers += 1
    if done.total():
        with context(org_id=org_id):
            audit_record(
                actor=None,
                action=actions.CONNECTIONS_REENCRYPT,
                target_type="organization",
                target_id=org_id,
                after={"connections": done[CONNECTIONS], **{k: v for k, v in done.items() if v}},
            )
    return done


def stored_secrets_reencrypt() -> RotationCounts:
    """Re-encrypt every value of ``ENCRYPTED_FIELDS`` with the first key; safe to re-run."""
    counts = RotationCounts(values=Counter())
    assert counts.values is not None
    with context():
        organizations = list(Organization.objects.values_list("id", flat=True))
    for org_id in organizations:
        counts.values.update(_organization_reencrypt(org_id, counts))
        counts.organizations += 1
    for field in _fields(PEOPLE_ROWS):
        with transaction.atomic():
            counts.values[field.label] += _reencrypt_rows(field)
    return counts
