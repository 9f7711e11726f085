"""The Allowed embedding origins section of Settings → General, rendered by
``templates/widget/_embedding_origins.html`` on a page whose view belongs to ``customers``."""

from __future__ import annotations

from typing import Any

from django import template

from fastn_console.console import tenant_of
from roles.catalog import MANAGE_SETTINGS
from widget.embedding import embedding_origins
from widget.settings_views import embedding_origins_form

register = template.Library()


@register.inclusion_tag("widget/_embedding_origins_section.html", takes_context=True)
def embedding_origins_section(context: template.Context) -> dict[str, Any]:
    tenant = tenant_of(context["request"])
    can_manage = tenant.can(MANAGE_SETTINGS)
    return {
        "organization": tenant.organization,
        "origins": embedding_origins(),
        "can_manage": can_manage,
        "origins_form": embedding_origins_form() if can_manage else None,
        "csrf_token": context.get("csrf_token"),
    }
