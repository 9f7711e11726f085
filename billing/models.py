from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from customers.models import Organization, Plan
from tenancy.managers import ScopedManager


class UpgradeRequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    DECLINED = "declined", "Declined"


class UpgradeRequest(models.Model):
    """An owner's request to move to another plan; staff act on it in the admin."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    current_plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    requested_plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    message = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(
        max_length=12, choices=UpgradeRequestStatus.choices, default=UpgradeRequestStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager["UpgradeRequest"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "id"], name="billing_upgraderequest_org_id_uniq"
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.current_plan} → {self.requested_plan}"
