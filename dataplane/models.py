"""The data plane: each customer's connections, workflows, execution logs and configuration.

These tables live in every region database; a customer's rows live only in its region's. They
refer to control-plane rows by UUID without a database constraint (the parent may live in
another database); between data-plane tables, composite ``(customer_id, parent_id)`` foreign keys
(see the migrations) stop a row from pointing at another customer's parent.
"""

from __future__ import annotations

import uuid

from django.db import models

from tenancy.managers import ScopedManager


class DataPlaneModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(
        "customers.Organization", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Failed"


class Connection(DataPlaneModel):
    connector = models.ForeignKey(
        "build.Connector", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    name = models.CharField(max_length=120)
    status = models.CharField(
        max_length=12, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE
    )
    credentials = models.TextField(blank=True)

    objects = ScopedManager["Connection"](customer_field="customer_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "id"], name="dataplane_connection_customer_id_uniq"
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Workflow(DataPlaneModel):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    definition = models.JSONField(default=dict)
    current_version = models.PositiveIntegerField(default=1)
    test_version = models.PositiveIntegerField(null=True, blank=True)
    prod_version = models.PositiveIntegerField(null=True, blank=True)

    objects = ScopedManager["Workflow"](customer_field="customer_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "id"], name="dataplane_workflow_customer_id_uniq"
            ),
            models.UniqueConstraint(
                fields=["customer", "name"], name="dataplane_workflow_name_uniq"
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkflowVersion(DataPlaneModel):
    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, db_constraint=False, related_name="versions"
    )
    number = models.PositiveIntegerField()
    definition = models.JSONField(default=dict)

    objects = ScopedManager["WorkflowVersion"](customer_field="customer_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "workflow", "number"], name="dataplane_workflowversion_uniq"
            ),
        ]
        ordering = ["-number"]


class ExecutionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    TIMEOUT = "timeout", "Timed out"


class ExecutionLog(DataPlaneModel):
    workflow = models.ForeignKey(
        Workflow,
        on_delete=models.SET_NULL,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="executions",
    )
    connection = models.ForeignKey(
        Connection,
        on_delete=models.SET_NULL,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="executions",
    )
    source = models.CharField(max_length=20, default="workflow")
    status = models.CharField(
        max_length=12, choices=ExecutionStatus.choices, default=ExecutionStatus.QUEUED
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)

    objects = ScopedManager["ExecutionLog"](customer_field="customer_id")

    class Meta:
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="dataplane_exec_cust_created"),
        ]
        ordering = ["-created_at"]


class Configuration(DataPlaneModel):
    key = models.CharField(max_length=120)
    value = models.TextField(blank=True)
    is_secret = models.BooleanField(default=False)
    end_user_editable = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager["Configuration"](customer_field="customer_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "key"], name="dataplane_configuration_uniq"
            ),
        ]
        ordering = ["key"]
