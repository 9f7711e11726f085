"""Execution messages are shown to end users in the widget, so they name members by name or
not at all. Test panel runs used to be logged as ``… (test panel by <email>): …``; this removes
the email from the rows already written (runs as the owner, in every region database)."""

from django.db import migrations

SCRUB_SQL = r"""
UPDATE dataplane_executionlog
   SET message = regexp_replace(
           message, ' \(test panel by [^()[:space:]]*@[^()[:space:]]*\):', ' (test panel):', 'g'
       )
 WHERE source IN ('agent', 'tool')
   AND message ~ ' \(test panel by [^()[:space:]]*@[^()[:space:]]*\):'
"""


class Migration(migrations.Migration):
    dependencies = [("dataplane", "0001_initial")]

    operations = [migrations.RunSQL(SCRUB_SQL, migrations.RunSQL.noop)]
