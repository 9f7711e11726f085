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
    # OAuth 2.0 (dataplane/oauth.py): the provider refused the refresh token (invalid_grant),
    # or refreshing failed for another reason (the token endpoint down, a malformed answer).
    REVOKED = "revoked", "Revoked"
    ERROR = "error", "Error"


class Connection(DataPlaneModel):
    connector = models.ForeignKey(
        "build.Connector", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    name = models.CharField(max_length=120)
    status = models.CharField(
        max_length=12, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE
    )
    credentials = models.TextField(blank=True)
    # OAuth 2.0 connections: when the access token in ``credentials`` expires (refreshed before,
    # by ``dataplane.oauth``), until when one refresh holds the refresh token, and why the
    # status is what it is (the provider's error, in words).
    token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_lease_until = models.DateTimeField(null=True, blank=True)
    status_message = models.CharField(max_length=500, blank=True, db_default="")

    objects = ScopedManager["Connection"](customer_field="customer_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "id"], name="dataplane_connection_customer_id_uniq"
            ),
        ]
        indexes = [
            # Only connections with an expiring token (the refresh sweep's rows): general reads
            # keep the tenant index.
            models.Index(
                fields=["customer", "token_expires_at"],
                name="dataplane_conn_token_expiry",
                condition=models.Q(token_expires_at__isnull=False),
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Workflow(DataPlaneModel):
    """A customer's enablement of one of its organization's workflow definitions (SPEC §11):
    runs execute the definition's version deployed to their environment, with the connection
    the customer chose for each connector its steps name (``connections``: connector slug →
    connection id; unset, the customer's only connection of that connector)."""

    definition = models.ForeignKey(
        "build.WorkflowDefinition",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    enabled = models.BooleanField(default=True)
    connections = models.JSONField(default=dict, blank=True)

    objects = ScopedManager["Workflow"](customer_field="customer_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "id"], name="dataplane_workflow_customer_id_uniq"
            ),
            models.UniqueConstraint(
                fields=["customer", "definition"], name="dataplane_workflow_definition_uniq"
            ),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name

    # What the definition says, read through it (one query per workflow unless prefetched:
    # ``dataplane.selectors.workflows_with_definitions``).
    @property
    def name(self) -> str:
        return str(self.definition.name)

    @property
    def description(self) -> str:
        return str(self.definition.description)

    @property
    def current_version(self) -> int:
        return int(self.definition.current_version)

    @property
    def test_version(self) -> int | None:
        return self.definition.test_version

    @property
    def prod_version(self) -> int | None:
        return self.definition.prod_version


class ExecutionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    TIMEOUT = "timeout", "Timed out"


class RunEnvironment(models.TextChoices):
    TEST = "test", "Test"
    PROD = "prod", "Prod"


class RunTrigger(models.TextChoices):
    MANUAL = "manual", "Manual"
    EVENT = "event", "Event"
    SCHEDULE = "schedule", "Schedule"
    WEBHOOK = "webhook", "Inbound webhook"


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
    # The event that triggered the run (SPEC §11 event triggers); kept when the event expires.
    event = models.ForeignKey(
        "dataplane.Event",
        on_delete=models.SET_NULL,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="executions",
    )
    source = models.CharField(max_length=20, default="workflow")
    # What ran (SPEC §11 "Environments"): the workflow version (NULL: unknown, or not a workflow
    # run), the environment it was resolved in and what started it. Rows older than these
    # columns read as prod and manual.
    version = models.PositiveIntegerField(null=True, blank=True)
    environment = models.CharField(
        max_length=4, choices=RunEnvironment.choices, default="prod", db_default="prod"
    )
    trigger = models.CharField(
        max_length=10, choices=RunTrigger.choices, default="manual", db_default="manual"
    )
    # The failed execution this one replays (same workflow version, same environment). No
    # database constraint: relocation copies a customer's logs in any order; the service sets it
    # only from a log read in the customer's scope.
    replay_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="replays",
    )
    # The minute (UTC) a schedule trigger ran this for (``dataplane.schedule_tasks``): unique
    # with the workflow, so a tick runs a workflow at most once, whoever asks twice.
    scheduled_for = models.DateTimeField(null=True, blank=True)
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
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "workflow", "scheduled_for"],
                condition=models.Q(scheduled_for__isnull=False),
                name="dataplane_exec_schedule_once",
            ),
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


class Event(DataPlaneModel):
    """An event the customer's backend sent (``POST /api/v1/events``), payload and all, kept
    for the organization's plan retention (``dataplane.events``); ``created_at`` is when it was
    received."""

    name = models.CharField(max_length=120)
    payload = models.JSONField(default=dict)
    payload_bytes = models.PositiveIntegerField(default=0)

    objects = ScopedManager["Event"](customer_field="customer_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "id"], name="dataplane_event_customer_id_uniq"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="dataplane_event_cust_created"),
            models.Index(fields=["org", "created_at"], name="dataplane_event_org_created"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name
