# The pending email-domain change moves off the organizations table, which every organization
# can read (SPEC §5.5), into its own table that only the organization's organization-wide
# principals read and write. Pending changes of an existing installation move with it; the old
# columns go in 0004.

import uuid

import django.db.models.deletion
from django.db import migrations, models

import tenancy.operations

MOVE_FORWARD = """
INSERT INTO customers_emaildomainchange (id, org_id, domain, sent_to, requested_at)
SELECT gen_random_uuid(), id, pending_email_domain, pending_email_domain_sent_to, now()
  FROM customers_organization
 WHERE pending_email_domain <> ''
"""
MOVE_BACK = """
UPDATE customers_organization o
   SET pending_email_domain = c.domain, pending_email_domain_sent_to = c.sent_to
  FROM customers_emaildomainchange c
 WHERE c.org_id = o.id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_organization_deletion_and_domain_address"),
    ]

    operations = [
        migrations.CreateModel(
            name="EmailDomainChange",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("domain", models.CharField(max_length=253)),
                ("sent_to", models.EmailField(blank=True, max_length=254)),
                ("requested_at", models.DateTimeField(auto_now_add=True)),
                (
                    "org",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="email_domain_change",
                        to="customers.organization",
                    ),
                ),
            ],
        ),
        tenancy.operations.EnableTenantRLS("emaildomainchange", "org", restrict="all"),
        migrations.RunSQL(MOVE_FORWARD, MOVE_BACK),
    ]
