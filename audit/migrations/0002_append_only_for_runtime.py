# Audit rows are append-only for the runtime login (SPEC §14): no UPDATE or DELETE grant and no
# policy that covers either. An organization's rows still go with the organization: the foreign
# key on org_id cascades in the database, which PostgreSQL runs as the table's owner, so the
# purge deletes the organization row and never an audit row itself.

import django.db.models.deletion
from django.db import migrations, models

import tenancy.operations

FIND_ORG_KEYS = """
SELECT con.conname FROM pg_constraint con
  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey)
 WHERE con.contype = 'f' AND con.conrelid = 'audit_auditlogentry'::regclass
   AND con.confrelid = 'customers_organization'::regclass AND a.attname = 'org_id'
"""


def _replace_org_key(action: str) -> str:
    return (
        "DO $$ DECLARE c record; BEGIN "
        f"FOR c IN {FIND_ORG_KEYS} LOOP "
        "EXECUTE format('ALTER TABLE audit_auditlogentry DROP CONSTRAINT %I', c.conname); "
        "END LOOP; END $$; "
        "ALTER TABLE audit_auditlogentry ADD CONSTRAINT audit_auditlogentry_org_id_fk "
        "FOREIGN KEY (org_id) REFERENCES customers_organization (id) "
        f"{action} DEFERRABLE INITIALLY DEFERRED"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditlogentry",
            name="org",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="audit_entries",
                to="customers.organization",
            ),
        ),
        migrations.RunSQL(
            _replace_org_key("ON DELETE CASCADE"), _replace_org_key("ON DELETE NO ACTION")
        ),
        tenancy.operations.AppendOnlyForRuntime("auditlogentry"),
    ]
