"""First migration of every database: what the runtime and platform logins may do.

``fastn_app`` gets SELECT, INSERT, UPDATE, DELETE on every table the owner creates from here on
(no TRUNCATE, REFERENCES or TRIGGER) and the sequences' USAGE; ``fastn_platform`` the same. Row-level
security then decides which rows each of them sees.
"""

from typing import Any

from django.db import migrations

from tenancy.logins import logins


def grant(apps: Any, schema_editor: Any) -> None:
    names = logins()
    for login in (names.app, names.platform):
        schema_editor.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {names.owner} IN SCHEMA public "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {login}"
        )
        schema_editor.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {names.owner} IN SCHEMA public "
            f"GRANT USAGE, SELECT ON SEQUENCES TO {login}"
        )
        schema_editor.execute(f"GRANT SELECT ON django_migrations TO {login}")


def revoke(apps: Any, schema_editor: Any) -> None:
    names = logins()
    for login in (names.app, names.platform):
        schema_editor.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {names.owner} IN SCHEMA public "
            f"REVOKE ALL ON TABLES FROM {login}"
        )
        schema_editor.execute(
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {names.owner} IN SCHEMA public "
            f"REVOKE ALL ON SEQUENCES FROM {login}"
        )


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []
    run_before = [("contenttypes", "0001_initial")]
    operations = [migrations.RunPython(grant, revoke)]
