# Events are kept (SPEC §11): each event's row lives in its customer's region database under
# RLS, and an execution names the event that triggered it; expiring an event (plan retention)
# keeps the executions and clears their link.

import uuid

import django.db.models.deletion
from django.db import migrations, models

import tenancy.operations


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_organization_require_two_factor"),
        ("dataplane", "0002_execution_messages_without_emails"),
    ]

    operations = [
        migrations.CreateModel(
            name="Event",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("name", models.CharField(max_length=120)),
                ("payload", models.JSONField(default=dict)),
                ("payload_bytes", models.PositiveIntegerField(default=0)),
                (
                    "customer",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="customers.customer",
                    ),
                ),
                (
                    "org",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="customers.organization",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at"],
            },
        ),
        migrations.AddField(
            model_name="executionlog",
            name="event",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="executions",
                to="dataplane.event",
            ),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                fields=["customer", "-created_at"], name="dataplane_event_cust_created"
            ),
        ),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["org", "created_at"], name="dataplane_event_org_created"),
        ),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(
                fields=("customer", "id"), name="dataplane_event_customer_id_uniq"
            ),
        ),
        tenancy.operations.EnableTenantRLS("event", "customer_data", plane="data"),
        tenancy.operations.AddCompositeForeignKey(
            model_name="executionlog",
            name="dataplane_executionlog_event_fk",
            columns=["customer_id", "event_id"],
            to_model="dataplane.event",
            to_columns=["customer_id", "id"],
            on_delete="SET NULL (event_id)",
        ),
    ]
