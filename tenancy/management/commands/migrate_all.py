"""Migrate every database as its owner login: the main database, then each region's."""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run migrations on the main database and on every region database (as fastn_owner)."

    def handle(self, *args: Any, **options: Any) -> None:
        aliases = ["owner"]
        for region_aliases in settings.TENANCY_REGION_ALIASES.values():
            if region_aliases.owner not in aliases:
                aliases.append(region_aliases.owner)
        for alias in aliases:
            self.stdout.write(f"Migrating {alias} ({settings.DATABASES[alias]['NAME']})")
            call_command(
                "migrate", database=alias, interactive=False, verbosity=options["verbosity"]
            )
