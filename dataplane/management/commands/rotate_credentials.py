"""Re-encrypt every value stored encrypted (``dataplane.rotation.ENCRYPTED_FIELDS``: connection
credentials, connector client secrets, webhook signing secrets, SSO client secrets, two-factor
secrets) with the first FIELD_ENCRYPTION_KEYS key.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run this command, then remove the old keys. It works organization by organization and customer
by customer inside their contexts (as the runtime login, so row-level security applies) and is
safe to re-run.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dataplane.encryption import CredentialsUnreadable
from dataplane.rotation import ENCRYPTED_FIELDS, stored_secrets_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = stored_secrets_reencrypt()
        except (RuntimeError, CredentialsUnreadable) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Re-encrypted {counts.connections} connection(s) of {counts.customers} customer(s) "
            f"in {counts.organizations} organization(s)."
        )
        values: dict[str, int] = dict(counts.values or {})
        for field in ENCRYPTED_FIELDS:
            self.stdout.write(f"  {field.label}: {values.get(field.label, 0)}")
