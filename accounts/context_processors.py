from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from roles.selectors import permissions_of
from tenancy.context import current_scope


def console(request: HttpRequest) -> dict[str, Any]:
    """The layout's organization switcher and the current member's permission keys."""
    tenant = getattr(request, "tenant", None)
    user = getattr(request, "user", None)
    data: dict[str, Any] = {"tenant": tenant, "perms_keys": frozenset()}
    if tenant is not None:
        data["current_org"] = tenant.organization
        data["perms_keys"] = permissions_of(tenant.membership)
    scope = current_scope()
    if (
        user is not None
        and user.is_authenticated
        and scope
        and scope.user_id
        and not scope.platform
    ):
        from accounts.selectors import memberships_of_current_user

        data["switcher"] = list(memberships_of_current_user())
    return data
