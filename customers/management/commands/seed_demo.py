from typing import Any

from django.core.management.base import BaseCommand

from customers.demo import seed


class Command(BaseCommand):
    help = "Create the demo organizations, users and data (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        seed(log=self.stdout.write)
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
