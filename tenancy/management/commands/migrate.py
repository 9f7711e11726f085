"""Django's ``migrate``, with the RLS system check silenced so a database can always move
forward (the check runs again once the process that serves requests starts)."""

from typing import Any

from django.core.management.commands.migrate import Command as MigrateCommand

from tenancy.checks import silenced


class Command(MigrateCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        with silenced():
            super().handle(*args, **options)

    def check(self, *args: Any, **kwargs: Any) -> Any:
        with silenced():
            return super().check(*args, **kwargs)
