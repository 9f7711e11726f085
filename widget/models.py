"""Every embed token and connect link ever issued, so each can be revoked (SPEC §11)."""

from __future__ import annotations

import uuid
from typing import Self

from django.conf import settings
from django.db import models
from django.utils import timezone

from customers.models import Customer, Organization
from tenancy.managers import ScopedManager


class EmbedGrantKind(models.TextChoices):
    CONNECT_LINK = "link", "Connect link"
    EMBED = "embed", "Embed token"


class EmbedGrantQuerySet(models.QuerySet["EmbedGrant"]):
    def active(self) -> Self:
        """Grants whose tokens still open the widget: not revoked, not past their end."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class EmbedGrant(models.Model):
    """One issued embed token or connect link, a row of its customer.

    The signed token names this row (``widget.tokens``), and so does every token refreshed
    from it: revoking the grant ends the token and all its refreshes at once, and past
    ``expires_at`` (the end of the refresh window) nothing renews it. The widget refuses a
    token whose grant is revoked, expired or unknown.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, db_constraint=False, related_name="embed_grants"
    )
    kind = models.CharField(max_length=8, choices=EmbedGrantKind.choices)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    issued_by_label = models.CharField(max_length=254, blank=True)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager.from_queryset(EmbedGrantQuerySet)(customer_field="customer_id")

    class Meta:
        indexes = [models.Index(fields=["org", "expires_at"], name="widget_grant_org_expiry_idx")]
        ordering = ["expires_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.customer_id}"


class EmbeddingOrigin(models.Model):
    """One origin (``scheme://host[:port]``) allowed to frame the organization's widget and to
    receive its ``postMessage`` events (SPEC §11 "Embedding"); ``widget.embedding`` validates
    and normalizes them. Every principal of the organization reads them (the widget's token
    holders build its ``frame-ancestors`` from them); only organization-wide ones change them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    origin = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager["EmbeddingOrigin"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "origin"], name="widget_embeddingorigin_uniq"),
        ]
        ordering = ["origin"]

    def __str__(self) -> str:
        return self.origin
