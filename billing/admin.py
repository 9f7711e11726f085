from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from billing.models import UpgradeRequest, UpgradeRequestStatus


@admin.register(UpgradeRequest)
class UpgradeRequestAdmin(admin.ModelAdmin):
    """Owners' plan change requests. Change the plan itself on the organization's page."""

    list_display = ["org", "current_plan", "requested_plan", "status", "requested_by", "created_at"]
    list_filter = ["status", "requested_plan"]
    search_fields = ["org__name", "org__slug", "requested_by__email"]
    list_select_related = ["org", "current_plan", "requested_plan", "requested_by"]
    readonly_fields = [
        "org",
        "current_plan",
        "requested_plan",
        "message",
        "requested_by",
        "created_at",
    ]
    fields = [*readonly_fields, "status"]
    actions = ["mark_done"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Mark as done")
    def mark_done(self, request: HttpRequest, queryset: QuerySet[UpgradeRequest]) -> None:
        queryset.update(status=UpgradeRequestStatus.DONE)
