"""Read-only staff views of the data plane, one region at a time (SPEC §5.7).

The admin runs in the platform scope; data-plane queries there must name their database, so each
page reads the region chosen in the "Region" filter through that region's ``platform`` alias
(``fastn_platform`` may only read data-plane rows). Credentials and secret values are never shown.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest

from build.admin import ReadOnlyAdmin
from dataplane.models import Configuration, Connection, ExecutionLog, Workflow
from tenancy.context import region_alias
from tenancy.databases import REGION_LABELS

REGION_PARAM = "region"


def _selected_region(request: HttpRequest) -> str:
    region = request.GET.get(REGION_PARAM, "")
    return region if region in settings.TENANCY_REGIONS else settings.TENANCY_REGIONS[0]


class RegionFilter(admin.SimpleListFilter):
    title = "region"
    parameter_name = REGION_PARAM

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(region, REGION_LABELS[region]) for region in settings.TENANCY_REGIONS]

    def value(self) -> str:
        return str(super().value() or settings.TENANCY_REGIONS[0])

    def choices(self, changelist: Any) -> Any:
        # No "All": each region is a separate database.
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset  # the region picks the database in get_queryset


class RegionReadOnlyAdmin(ReadOnlyAdmin):
    list_filter = [RegionFilter]
    show_full_result_count = False
    actions = None

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # Django opens a write transaction on the router's alias before checking permissions;
        # this admin never writes, so refuse unsafe methods first.
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            raise PermissionDenied("The data plane is read-only in the admin.")
        return super().changeform_view(request, *args, **kwargs)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        raise PermissionDenied("The data plane is read-only in the admin.")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        alias = region_alias(_selected_region(request), login="platform")
        return self.model._base_manager.using(alias).all()

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        # The change page has no region parameter: look in each region's database.
        for region in settings.TENANCY_REGIONS:
            alias = region_alias(region, login="platform")
            found = self.model._base_manager.using(alias).filter(pk=object_id).first()
            if found is not None:
                return found
        return None


@admin.register(Connection)
class ConnectionAdmin(RegionReadOnlyAdmin):
    list_display = ["name", "status", "org_id", "customer_id", "connector_id", "created_at"]
    search_fields = ["name"]
    exclude = ["credentials"]
    readonly_fields = ["credentials_stored"]

    @admin.display(description="Credentials")
    def credentials_stored(self, obj: Connection) -> str:
        return "Encrypted (never shown)" if obj.credentials else "None (disconnected)"


@admin.register(Workflow)
class WorkflowAdmin(RegionReadOnlyAdmin):
    list_display = ["definition_id", "enabled", "org_id", "customer_id", "created_at"]


@admin.register(ExecutionLog)
class ExecutionLogAdmin(RegionReadOnlyAdmin):
    list_display = ["created_at", "source", "status", "duration_ms", "org_id", "customer_id"]
    list_filter = [RegionFilter, "status", "source"]
    search_fields = ["message"]


@admin.register(Configuration)
class ConfigurationAdmin(RegionReadOnlyAdmin):
    list_display = ["key", "shown_value", "is_secret", "end_user_editable", "org_id", "customer_id"]
    search_fields = ["key"]
    exclude = ["value"]
    readonly_fields = ["shown_value"]

    @admin.display(description="Value")
    def shown_value(self, obj: Configuration) -> str:
        return "••••••••" if obj.is_secret else obj.value
