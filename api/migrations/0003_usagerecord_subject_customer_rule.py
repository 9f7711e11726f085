# A customer-restricted principal reads and writes only its own customer's usage records; the
# organization-wide bucket (subject_customer_id NULL) is for organization-wide contexts.

from django.db import migrations

import tenancy.operations


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_usage_batches"),
    ]

    operations = [
        tenancy.operations.RestrictToSubjectCustomer("usagerecord", "subject_customer_id"),
    ]
