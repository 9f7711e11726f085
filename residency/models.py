"""Relocation of a customer's data plane from one region's database to another's (SPEC §6)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from customers.models import Customer, Organization, Region
from tenancy.managers import ScopedManager


class RelocationState(models.TextChoices):
    PENDING = "pending", "Waiting for a worker"
    COPYING = "copying", "Copying rows"
    VERIFYING = "verifying", "Verifying counts and checksums"
    SWITCHING = "switching", "Switching region"
    CLEANING = "cleaning", "Removing rows from the old region"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


ACTIVE_STATES = (
    RelocationState.PENDING,
    RelocationState.COPYING,
    RelocationState.VERIFYING,
    RelocationState.SWITCHING,
    RelocationState.CLEANING,
)


class Relocation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, db_constraint=False, related_name="relocations"
    )
    from_region = models.CharField(max_length=8, choices=Region.choices)
    to_region = models.CharField(max_length=8, choices=Region.choices)
    previous_status = models.CharField(max_length=24)
    state = models.CharField(
        max_length=12, choices=RelocationState.choices, default=RelocationState.PENDING
    )
    switched = models.BooleanField(default=False)
    row_counts = models.JSONField(default=dict, blank=True)
    rows_copied = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Only the runner holding an unexpired lease works on a relocation: a task redelivered while
    # the first run is alive returns at once; one whose runner died takes over after expiry.
    lease_owner = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager["Relocation"](customer_field="customer_id")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "customer"],
                condition=models.Q(
                    state__in=["pending", "copying", "verifying", "switching", "cleaning"]
                ),
                name="residency_one_active_relocation",
            ),
        ]

    @property
    def progress_percent(self) -> int:
        if self.state == RelocationState.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_copied / self.rows_total))
