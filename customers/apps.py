from typing import Any

from django.apps import AppConfig
from django.db import router
from django.db.models.signals import post_migrate

from customers.plans import PLANS


def sync_plans(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """Keep the plan rows equal to ``customers.plans`` (also after a test flush)."""
    plan_model = sender.get_model("Plan")
    if not router.allow_migrate_model(using, plan_model):
        return
    for plan in PLANS:
        plan_model._default_manager.using(using).update_or_create(
            code=plan["code"], defaults={k: v for k, v in plan.items() if k != "code"}
        )


class CustomersConfig(AppConfig):
    name = "customers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(sync_plans, sender=self)
