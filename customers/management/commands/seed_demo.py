from typing import Any

from django.core.management.base import BaseCommand, CommandError

from customers.demo import production_refusal, seed


class Command(BaseCommand):
    help = (
        "Create the demo organizations, users and data (idempotent). Refused unless "
        "DJANGO_DEBUG is on."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        refusal = production_refusal()
        if refusal:
            raise CommandError(refusal)
        seed(log=self.stdout.write)
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
