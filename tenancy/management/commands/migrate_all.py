"""Migrate every database as its owner login: the main database, then each region's. Plain
``manage.py migrate`` does the same; this name stays for scripts that use it."""

from typing import Any

from tenancy.management.commands.migrate import Command as MigrateCommand


class Command(MigrateCommand):
    help = "Run migrations on the main database and on every region database (as fastn_owner)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.migrate_every_database(*args, **options)
