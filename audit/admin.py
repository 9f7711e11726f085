"""Staff read the audit log in the admin; nobody edits or deletes it there."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.utils.html import format_html

from audit.models import AuditLogEntry
from audit.services import ORGANIZATION_WIDE
from customers.admin import ReadOnlyAdmin


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "org",
        "actor_label",
        "action",
        "customer",
        "target_type",
        "target_id",
    ]
    list_filter = ["action", "target_type", ("created_at", admin.DateFieldListFilter), "org"]
    search_fields = ["actor_label", "action", "target_id", "org__name", "org__slug"]
    date_hierarchy = "created_at"
    list_select_related = ["org"]
    ordering = ["-created_at"]
    fields = readonly_fields = (
        "created_at",
        "org",
        "actor",
        "actor_label",
        "action",
        "customer",
        "target_type",
        "target_id",
        "before_pretty",
        "after_pretty",
    )

    @admin.display(description="Customer")
    def customer(self, entry: AuditLogEntry) -> str:
        return str(entry.subject_customer_id) if entry.subject_customer_id else ORGANIZATION_WIDE

    @admin.display(description="Before")
    def before_pretty(self, entry: AuditLogEntry) -> Any:
        return format_html("<pre>{}</pre>", json.dumps(entry.before, indent=2, sort_keys=True))

    @admin.display(description="After")
    def after_pretty(self, entry: AuditLogEntry) -> Any:
        return format_html("<pre>{}</pre>", json.dumps(entry.after, indent=2, sort_keys=True))
