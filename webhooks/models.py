"""Webhook endpoints, the outbox of events, deliveries with their attempts, and limit notices.

All of them are organization-level control-plane rows under row-level security (SPEC §5):
endpoints, deliveries and attempts are seen by organization-wide principals only; events and
limit notices may name one customer (``subject_customer_id``) and follow the customer rule, so
any context of that customer can write the event of its own change in the change's transaction.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from customers.models import Organization
from tenancy.managers import ScopedManager


class EndpointStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DISABLED = "disabled", "Disabled"


class WebhookEndpoint(models.Model):
    """An https URL that receives the events it subscribes to, signed with its own secret."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    url = models.CharField(max_length=2048)
    description = models.CharField(max_length=200, blank=True)
    event_types = ArrayField(models.CharField(max_length=64), default=list)
    # ``whsec_…`` encrypted with FIELD_ENCRYPTION_KEYS; shown once, at creation.
    secret_encrypted = models.TextField()
    status = models.CharField(
        max_length=12, choices=EndpointStatus.choices, default=EndpointStatus.ACTIVE
    )
    # The first failed attempt since the last success: 24 h of failures disable the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager["WebhookEndpoint"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "id"], name="webhooks_endpoint_org_id_uniq"),
        ]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url

    @property
    def is_active(self) -> bool:
        return self.status == EndpointStatus.ACTIVE


class WebhookEvent(models.Model):
    """The outbox: one row per change, written in the change's own transaction. A task fans it
    out to the subscribed endpoints (``dispatched_at``); the beat sweep catches any whose task
    never reached the broker."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    subject_customer_id = models.UUIDField(null=True, blank=True)
    event_type = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager["WebhookEvent"](customer_field="subject_customer_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "id"], name="webhooks_event_org_id_uniq"),
        ]
        indexes = [
            models.Index(
                fields=["org", "created_at"],
                condition=Q(dispatched_at__isnull=True),
                name="webhooks_event_undispatched",
            ),
        ]

    def __str__(self) -> str:
        return self.event_type

    @property
    def message_id(self) -> str:
        """The ``webhook-id``: the same for every delivery of this event (receivers dedupe)."""
        return f"msg_{self.id.hex}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class WebhookDelivery(models.Model):
    """One event to one endpoint, tried until it succeeds or the retry window ends."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # Indexed by the delivery log's (org, endpoint, -created_at) index, led by the tenant.
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,
        related_name="deliveries",
    )
    event = models.ForeignKey(
        WebhookEvent, on_delete=models.CASCADE, db_constraint=False, related_name="deliveries"
    )
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    # Test events and their likes are tried once; everything else on the retry schedule.
    retries = models.BooleanField(default=True)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set while an attempt is in flight, so a duplicate task never sends the same attempt twice.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager["WebhookDelivery"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "id"], name="webhooks_delivery_org_id_uniq"),
        ]
        indexes = [
            models.Index(
                fields=["org", "next_attempt_at"],
                condition=Q(status="pending"),
                name="webhooks_delivery_due",
            ),
            models.Index(fields=["org", "endpoint", "-created_at"], name="webhooks_delivery_log"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery: its outcome, status code, time and response excerpt."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(
        WebhookDelivery,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,  # the attempt log's index (org, delivery, number) serves it
        related_name="attempts",
    )
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=20)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.TextField(blank=True)

    objects = ScopedManager["WebhookAttempt"]()

    class Meta:
        indexes = [models.Index(fields=["org", "delivery", "number"], name="webhooks_attempt_log")]
        ordering = ["number"]

    def __str__(self) -> str:
        return f"#{self.number} {self.outcome}"

    @property
    def succeeded(self) -> bool:
        return self.outcome == "ok"


class NoticeLevel(models.TextChoices):
    WARNING = "warning", "80 %"
    REACHED = "reached", "100 %"


class LimitNotice(models.Model):
    """A customer crossed 80 % or 100 % of a limit in one window: at most one row per
    (customer, limit, level, window), so the email and the webhook go out once per window."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    subject_customer_id = models.UUIDField(null=True, blank=True)
    limit_key = models.CharField(max_length=40)
    level = models.CharField(max_length=8, choices=NoticeLevel.choices)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    count = models.PositiveIntegerField()
    limit = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager["LimitNotice"](customer_field="subject_customer_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "subject_customer_id", "limit_key", "level", "window_start"],
                name="webhooks_limitnotice_uniq",
                nulls_distinct=False,
            ),
        ]
        indexes = [models.Index(fields=["org", "window_end"], name="webhooks_notice_current")]

    def __str__(self) -> str:
        return f"{self.limit_key} {self.level}"
