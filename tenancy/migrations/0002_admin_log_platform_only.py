"""The staff admin's history is the platform's alone: the runtime login has no access to it."""

from typing import Any

from django.db import migrations

from tenancy.logins import logins


def revoke(apps: Any, schema_editor: Any) -> None:
    app = logins().app
    schema_editor.execute(
        "DO $$ BEGIN IF to_regclass('django_admin_log') IS NOT NULL THEN "
        f"REVOKE ALL ON django_admin_log FROM {app}; "
        f"REVOKE ALL ON SEQUENCE django_admin_log_id_seq FROM {app}; "
        "END IF; END $$"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0001_default_privileges"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]
    operations = [migrations.RunPython(revoke, migrations.RunPython.noop)]
