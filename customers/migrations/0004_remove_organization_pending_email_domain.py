# The pending change now lives in customers_emaildomainchange (0003 moved it there).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_email_domain_change"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="organization",
            name="pending_email_domain",
        ),
        migrations.RemoveField(
            model_name="organization",
            name="pending_email_domain_sent_to",
        ),
    ]
