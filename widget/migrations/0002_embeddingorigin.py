# Allowed embedding origins (SPEC §11): organization rows every principal of the organization
# reads (the widget's token holders build its frame-ancestors from them); only
# organization-wide principals add or remove them.

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

import tenancy.operations


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_organization_require_two_factor"),
        ("widget", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="EmbeddingOrigin",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("origin", models.CharField(max_length=300)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "org",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="customers.organization",
                    ),
                ),
            ],
            options={
                "ordering": ["origin"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("org", "origin"), name="widget_embeddingorigin_uniq"
                    )
                ],
            },
        ),
        tenancy.operations.EnableTenantRLS("embeddingorigin", "org", restrict="writes"),
    ]
