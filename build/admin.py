"""Staff views of connectors, agents, tools and workflow definitions. Read-only: every change
goes through the console's services, which version and audit it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from build.models import (
    Agent,
    AgentVersion,
    Connector,
    ConnectorVersion,
    Tool,
    ToolVersion,
    WorkflowDefinition,
    WorkflowDefinitionVersion,
)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Staff may look, never change (the data-plane admin builds on it too)."""

    list_per_page = 50

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)


class ItemAdmin(ReadOnlyAdmin):
    list_display: Any = [
        "name",
        "org",
        "current_version",
        "test_version",
        "prod_version",
        "updated_at",
    ]
    search_fields = ["name", "slug", "org__name"]
    list_select_related = ["org"]


class VersionAdmin(ReadOnlyAdmin):
    list_display: Any = ["__str__", "number", "org", "created_by", "created_at"]
    list_select_related = ["org", "created_by"]


for item_model in (Connector, Agent, Tool, WorkflowDefinition):
    admin.site.register(item_model, ItemAdmin)
for version_model in (ConnectorVersion, AgentVersion, ToolVersion, WorkflowDefinitionVersion):
    admin.site.register(version_model, VersionAdmin)
