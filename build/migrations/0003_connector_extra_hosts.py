"""Connectors declare further hosts their connections' credentials may be sent to, besides the
base URL's host (SPEC §11: credentials go only to the connector's hosts)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("build", "0002_organization_writes_only")]

    operations = [
        migrations.AddField(
            model_name="connector",
            name="extra_hosts",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
