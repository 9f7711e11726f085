from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import ResolverMatch

from accounts.selectors import memberships_of_current_user
from fastn_console.console import Tenant
from tenancy.context import current_scope

# The side navigation's entry that a console page belongs to: by URL namespace, then by the
# first matching URL-name prefix within it (the entry the layout marks with aria-current).
_NAV_SECTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "customers": (
        ("home", "overview"),
        ("general", "general"),
        ("verify_domain", "general"),
        ("organization_delete", "general"),
        ("customer_", "customers"),
    ),
    "residency": (("executions", "executions"), ("", "customers")),
    "dataplane": (("", "customers"),),
    "build": (
        ("connector_", "connectors"),
        ("agent_", "agents"),
        ("tool_", "tools"),
        ("workflow_", "workflows"),
    ),
    "roles": (("role_", "roles"), ("", "people")),
    "billing": (("", "billing"),),
    "api": (("", "api_keys"),),
    "webhooks": (("", "webhooks"),),
    "audit": (("", "audit"),),
}


def nav_section(match: ResolverMatch | None) -> str:
    """The navigation entry of the page ``match`` resolved, or ``""`` outside the console."""
    if match is None:
        return ""
    for prefix, section in _NAV_SECTIONS.get(match.namespace, ()):
        if (match.url_name or "").startswith(prefix):
            return section
    return ""


def console(request: HttpRequest) -> dict[str, Any]:
    """The layout's organization switcher, its navigation state (``nav_section``), and
    ``perms_keys``: ``"key" in perms_keys`` answers with ``authorize``'s rules for the request's
    member (empty outside a console page)."""
    tenant = getattr(request, "tenant", None)
    user = getattr(request, "user", None)
    data: dict[str, Any] = {"tenant": tenant, "perms_keys": frozenset(), "nav_section": ""}
    if isinstance(tenant, Tenant):
        data["current_org"] = tenant.organization
        data["perms_keys"] = tenant.permissions
        data["nav_section"] = nav_section(getattr(request, "resolver_match", None))
    scope = current_scope()
    if (
        user is not None
        and user.is_authenticated
        and scope
        and scope.user_id
        and not scope.platform
    ):
        # The console middleware already loaded them for an organization's page.
        data["switcher"] = (
            tenant.memberships
            if isinstance(tenant, Tenant)
            else list(memberships_of_current_user())
        )
    return data
