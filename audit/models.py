from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from customers.models import Organization
from tenancy.managers import ScopedManager


class AuditLogEntry(models.Model):
    """Who changed what, when. Data-plane changes record ids and field names, never values.

    Append-only for the runtime login (SPEC §14, migration 0002): it inserts and reads rows,
    but holds no UPDATE or DELETE grant on them. An organization's rows go with it through the
    database's ``ON DELETE CASCADE`` on ``org_id``, which PostgreSQL runs as the table's owner;
    Django itself does nothing (``DO_NOTHING``: its collector would delete as the runtime login,
    and Django refuses to mix its database-level variants with the Python-level ones of the
    organization's other references).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, related_name="audit_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=80)
    subject_customer_id = models.UUIDField(null=True, blank=True)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    # From where (audit.origin): the client's address behind the trusted proxies, and its user
    # agent; empty for rows written outside a request (tasks, commands).
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager["AuditLogEntry"]()

    class Meta:
        indexes = [
            models.Index(fields=["org", "-created_at"], name="audit_org_created_idx"),
            # The log's customer filter.
            models.Index(
                fields=["org", "subject_customer_id", "-created_at"],
                name="audit_org_customer_idx",
            ),
        ]
        ordering = ["-created_at"]
        verbose_name_plural = "audit log entries"

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label}"
