from typing import Any

from django.db import migrations

from customers.plans import PLANS


def write_plans(apps: Any, schema_editor: Any) -> None:
    Plan = apps.get_model("customers", "Plan")
    for plan in PLANS:
        Plan.objects.using(schema_editor.connection.alias).update_or_create(
            code=plan["code"], defaults={k: v for k, v in plan.items() if k != "code"}
        )


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(write_plans, migrations.RunPython.noop)]
