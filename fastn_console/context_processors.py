from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.selectors import memberships_of_current_user
from fastn_console.console import Tenant
from tenancy.context import current_scope


def console(request: HttpRequest) -> dict[str, Any]:
    """The layout's organization switcher, and ``perms_keys``: ``"key" in perms_keys`` answers
    with ``authorize``'s rules for the request's member (empty outside a console page)."""
    tenant = getattr(request, "tenant", None)
    user = getattr(request, "user", None)
    data: dict[str, Any] = {"tenant": tenant, "perms_keys": frozenset()}
    if isinstance(tenant, Tenant):
        data["current_org"] = tenant.organization
        data["perms_keys"] = tenant.permissions
    scope = current_scope()
    if (
        user is not None
        and user.is_authenticated
        and scope
        and scope.user_id
        and not scope.platform
    ):
        # The console middleware already loaded them for an organization's page.
        if isinstance(tenant, Tenant):
            data["switcher"] = tenant.memberships
        else:
            data["switcher"] = list(memberships_of_current_user())
    return data
