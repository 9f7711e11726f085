"""Tell the planner that a customer belongs to one organization: functional-dependency
statistics on (org_id, customer_id) of every data-plane table. Without them it multiplies the
two equalities every scoped query carries (the scoped manager's filter, merged with the scope
role's policy) as if independent, expects half the customer's rows in a two-organization
database, and sorts a customer's whole log for a deep page instead of walking
``dataplane_exec_cust_created`` in order (docs/PERFORMANCE.md)."""

from django.db import migrations

TABLES = ("connection", "workflow", "executionlog", "configuration", "event")


def _statements(table: str) -> tuple[list[str], str]:
    name = f"dataplane_{table}_org_customer_stats"
    return (
        [
            f"CREATE STATISTICS {name} (dependencies) ON org_id, customer_id "
            f"FROM dataplane_{table}",
            f"ANALYZE dataplane_{table}",
        ],
        f"DROP STATISTICS {name}",
    )


class Migration(migrations.Migration):
    dependencies = [("dataplane", "0010_scope_roles")]

    operations = [
        migrations.RunSQL(forwards, reverse)
        for forwards, reverse in (_statements(table) for table in TABLES)
    ]
