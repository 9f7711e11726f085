"""Create the database logins and databases (idempotent); derive missing URLs into ``.env``."""

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tenancy import bootstrap


class Command(BaseCommand):
    help = (
        "Create fastn_owner, fastn_app and fastn_platform and the main and region databases "
        "using DATABASE_BOOTSTRAP_URL; write derived URLs and generated keys into .env."
    )
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        url = os.environ.get("DATABASE_BOOTSTRAP_URL") or settings.DATABASE_BOOTSTRAP_URL
        if not url:
            raise CommandError(
                "DATABASE_BOOTSTRAP_URL is not set: point it at a login with CREATEROLE and "
                "CREATEDB (make run starts an embedded PostgreSQL and sets it for you)."
            )
        env_path = settings.BASE_DIR / ".env"
        env_file = bootstrap.read_env_file(env_path)
        try:
            chosen = bootstrap.plan(url, dict(os.environ), env_file)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        bootstrap.apply(url, chosen, log=self.stdout.write)
        if chosen.env_updates:
            bootstrap.write_env_values(env_path, chosen.env_updates)
            self.stdout.write(f"Wrote {', '.join(chosen.env_updates)} to {env_path}")
