"""Re-encrypt every stored connection credential with the first FIELD_ENCRYPTION_KEYS key.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run this command, then remove the old keys. It works customer by customer inside each
customer's context (as the runtime login, so row-level security applies) and is safe to re-run.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dataplane.services import connections_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt connection credentials with the first key of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = connections_reencrypt()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Re-encrypted {counts.connections} connection(s) of {counts.customers} customer(s) "
            f"in {counts.organizations} organization(s)."
        )
