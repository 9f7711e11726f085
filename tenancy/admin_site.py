"""The staff admin runs in the explicit platform scope (SPEC §5.7): every admin view's queries go
to the ``platform`` aliases (login ``fastn_platform``), and only staff get in."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from tenancy.context import platform_scope


class PlatformAdminSite(admin.AdminSite):
    site_header = "Fastn platform administration"
    site_title = "Fastn platform"
    index_title = "Platform"

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def in_platform_scope(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            with platform_scope():
                response: HttpResponse = inner(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()
                return response

        return in_platform_scope
