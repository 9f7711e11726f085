from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from customers.models import Customer, Organization
from roles.models import Role
from tenancy.managers import ScopedManager


class ApiKey(models.Model):
    """An organization's API key. The secret is shown once and stored only as a hash."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=80)
    secret_hash = models.CharField(max_length=128)
    role = models.ForeignKey(Role, on_delete=models.PROTECT, db_constraint=False, related_name="+")
    all_customers = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager["ApiKey"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "id"], name="api_apikey_org_id_uniq"),
            models.UniqueConstraint(fields=["org", "secret_hash"], name="api_apikey_hash_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class ApiKeyCustomer(models.Model):
    """One customer an API key limited to selected customers may act for."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.CASCADE, db_constraint=False, related_name="customer_links"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )

    objects = ScopedManager["ApiKeyCustomer"](customer_field="customer_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "api_key", "customer"], name="api_apikeycustomer_uniq"
            ),
        ]


class UsageKind(models.TextChoices):
    API_CALL = "api_call", "API calls"
    EVENT = "event", "Events"


class UsageRecord(models.Model):
    """Daily usage counters, written in batches. No customer means organization-wide calls."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    subject_customer_id = models.UUIDField(null=True, blank=True)
    day = models.DateField()
    kind = models.CharField(max_length=12, choices=UsageKind.choices)
    count = models.BigIntegerField(default=0)

    objects = ScopedManager["UsageRecord"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "subject_customer_id", "day", "kind"],
                name="api_usagerecord_uniq",
                nulls_distinct=False,
            ),
        ]
        indexes = [models.Index(fields=["org", "day"], name="api_usagerecord_org_day_idx")]


class UsageBatch(models.Model):
    """A flushed batch of usage counters, so a flush retried after a crash counts nothing twice.

    The flush inserts this row and adds the batch's counts in one transaction; a retry finds the
    row and only deletes the batch from Redis.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    batch_key = models.CharField(max_length=200)
    flushed_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager["UsageBatch"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "batch_key"], name="api_usagebatch_uniq"),
        ]
        indexes = [models.Index(fields=["flushed_at"], name="api_usagebatch_flushed_idx")]
