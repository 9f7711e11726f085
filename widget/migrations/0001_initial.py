# Every issued embed token and connect link is a row of its customer, so it can be revoked
# (SPEC §11): any context of the customer may issue one (a customer-limited API key too), but
# only organization-wide principals revoke, so a token holder's own context cannot undo it.

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import tenancy.operations


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("customers", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="EmbedGrant",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("link", "Connect link"), ("embed", "Embed token")], max_length=8
                    ),
                ),
                ("issued_by_label", models.CharField(blank=True, max_length=254)),
                ("issued_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("expires_at", models.DateTimeField()),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "customer",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="embed_grants",
                        to="customers.customer",
                    ),
                ),
                (
                    "issued_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
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
                "ordering": ["expires_at"],
                "indexes": [
                    models.Index(fields=["org", "expires_at"], name="widget_grant_org_expiry_idx")
                ],
            },
        ),
        tenancy.operations.EnableTenantRLS("embedgrant", "customer_data"),
        tenancy.operations.RestrictWritesToOrganization("embedgrant", commands=("update", "delete")),
        tenancy.operations.AddCompositeForeignKey(
            model_name="embedgrant",
            name="widget_embedgrant_customer_fk",
            columns=["org_id", "customer_id"],
            to_model="customers.customer",
            to_columns=["org_id", "id"],
        ),
    ]
