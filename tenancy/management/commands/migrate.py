"""Django's ``migrate`` for this project's databases.

Without ``--database`` it migrates every database as its owner login (``fastn_owner``): the
main database, then each region's, because the runtime login (the ``default`` alias) may not
change schemas. ``--database <alias>`` migrates that one. The RLS system check is silenced so
a database can always move forward (it runs again once the process that serves requests
starts).
"""

from typing import Any

from django.conf import settings
from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db import DEFAULT_DB_ALIAS

from tenancy.checks import silenced
from tenancy.router import migration_aliases


class Command(DjangoMigrateCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        if options["database"] == DEFAULT_DB_ALIAS and "owner" in settings.DATABASES:
            self.migrate_every_database(*args, **options)
            return
        with silenced():
            super().handle(*args, **options)

    def migrate_every_database(self, *args: Any, **options: Any) -> None:
        for alias in migration_aliases():
            self.stdout.write(f"Migrating {alias} ({settings.DATABASES[alias]['NAME']})")
            with silenced():
                super().handle(*args, **{**options, "database": alias})

    def check(self, *args: Any, **kwargs: Any) -> Any:
        with silenced():
            return super().check(*args, **kwargs)
