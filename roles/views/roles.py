"""Settings → Roles: the role list, a role's permission matrix, custom roles (SPEC §4).

Reading roles needs no key: every organization-wide member may see what each role allows. Who
holds a role is people data: only members allowed to see people (``manage_members``) see it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render

from fastn_console.console import Tenant, form_saved, organization_wide
from roles import catalog, selectors, services
from roles.forms import RoleForm, unknown_permission_keys
from roles.models import Role
from roles.selectors import permissions_of
from roles.views.common import get_role_for_user, page_of


def _changeable(tenant: Tenant, role: Role) -> bool:
    """Whether the member may edit and delete ``role``: the buttons the server would accept."""
    return (
        tenant.can(catalog.MANAGE_ROLES)
        and not role.is_system
        and selectors.role_change_refusal(tenant.membership, role) is None
    )


def role_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request)
    search = request.GET.get("q", "")
    page = page_of(request, selectors.role_list(search=search))
    return render(
        request,
        "roles/role_list.html",
        {
            "page": page,
            "search": search,
            "total": len(catalog.PERMISSIONS),
            "changeable": {role.id for role in page.object_list if _changeable(tenant, role)},
        },
    )


def role_detail(request: HttpRequest, org_slug: str, role_id: uuid.UUID) -> HttpResponse:
    role = get_role_for_user(request, role_id)
    tenant = organization_wide(request)
    sees_people = tenant.can(catalog.MANAGE_MEMBERS)
    keys = set(role.permissions)
    matrix = [
        (label, [(permission, permission.key in keys) for permission in permissions])
        for label, permissions in catalog.by_category()
    ]
    return render(
        request,
        "roles/role_detail.html",
        {
            "role": role,
            "matrix": matrix,
            "total": len(catalog.PERMISSIONS),
            "members": selectors.role_members(role)[:50] if sees_people else [],
            "member_count": role.memberships.count(),
            "sees_people": sees_people,
            "changeable": _changeable(tenant, role),
        },
    )


def _role_fields(data: dict[str, Any]) -> dict[str, Any]:
    """What the role form gives every role service: name, description, permissions."""
    return {key: data[key] for key in ("name", "description", "permissions")}


def _role_form_view(
    request: HttpRequest,
    org_slug: str,
    *,
    save: Callable[[dict[str, Any]], Role],
    done: Callable[[Role], str],
    title: str,
    submit: str,
    initial: dict[str, Any] | None = None,
    with_restriction: bool = False,
    original: frozenset[str] = frozenset(),
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """The create, duplicate and edit pages: the permission matrix greys out what the member
    may not grant (what their own role lacks, unless the role already holds it)."""
    if request.method == "POST":
        if unknown_permission_keys(request.POST):
            return HttpResponseBadRequest("Unknown permission key.")
        form = RoleForm(request.POST, with_restriction=with_restriction)
    else:
        form = RoleForm(initial=initial, with_restriction=with_restriction)
    role = form_saved(request, form, lambda: save(form.cleaned_data))
    if role is not None:
        messages.success(request, done(role))
        return redirect("roles:role_detail", org_slug=org_slug, role_id=role.id)
    held = permissions_of(organization_wide(request).membership)
    selected = form.selected_keys()
    matrix = [
        (
            label,
            [
                (
                    permission,
                    permission.key in selected,
                    permission.key not in held and permission.key not in original,
                )
                for permission in permissions
            ],
        )
        for label, permissions in catalog.by_category()
    ]
    context = {
        "form": form,
        "title": title,
        "submit": submit,
        "matrix": matrix,
        "total": len(catalog.PERMISSIONS),
        **(extra or {}),
    }
    return render(request, "roles/role_form.html", context)


def role_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request, catalog.MANAGE_ROLES)
    return _role_form_view(
        request,
        org_slug,
        save=lambda data: services.role_create(
            acting_user=request.user,
            organization=tenant.organization,
            customer_restricted=data.get("customer_restricted", False),
            **_role_fields(data),
        ),
        done=lambda role: f"Created the role {role.name}.",
        title="Create custom role",
        submit="Create role",
        with_restriction=True,
    )


def role_duplicate(request: HttpRequest, org_slug: str, role_id: uuid.UUID) -> HttpResponse:
    source = get_role_for_user(request, role_id)
    tenant = organization_wide(request, catalog.MANAGE_ROLES)
    held = permissions_of(tenant.membership)
    return _role_form_view(
        request,
        org_slug,
        save=lambda data: services.role_duplicate(
            acting_user=request.user, source=source, **_role_fields(data)
        ),
        done=lambda role: f"Created {role.name} as a copy of {source.name}.",
        title=f"Duplicate {source.name} as a custom role",
        submit="Create copy",
        initial={
            "name": services.role_duplicate_name(source),
            "description": source.description,
            "permissions": sorted(set(source.permissions) & held),
        },
        extra={"source": source, "left_out": sorted(set(source.permissions) - held)},
    )


def _custom_role(request: HttpRequest, role_id: uuid.UUID, refusal: str) -> Role:
    role = get_role_for_user(request, role_id)
    tenant = organization_wide(request, catalog.MANAGE_ROLES)
    if role.is_system:
        raise PermissionDenied(refusal)
    held_above = selectors.role_change_refusal(tenant.membership, role)
    if held_above:
        raise PermissionDenied(held_above)
    return role


def role_edit(request: HttpRequest, org_slug: str, role_id: uuid.UUID) -> HttpResponse:
    role = _custom_role(request, role_id, "Built-in roles cannot be changed.")
    return _role_form_view(
        request,
        org_slug,
        save=lambda data: services.role_update(
            acting_user=request.user, role=role, **_role_fields(data)
        ),
        done=lambda role: f"Saved the role {role.name}.",
        title=f"Edit {role.name}",
        submit="Save role",
        initial={
            "name": role.name,
            "description": role.description,
            "permissions": list(role.permissions),
        },
        original=frozenset(role.permissions),
        extra={"role": role},
    )


def role_delete(request: HttpRequest, org_slug: str, role_id: uuid.UUID) -> HttpResponse:
    role = _custom_role(request, role_id, "Built-in roles cannot be deleted.")
    error = None
    if request.method == "POST":
        name = role.name
        try:
            services.role_delete(acting_user=request.user, role=role)
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        else:
            messages.success(request, f"Deleted the role {name}.")
            return redirect("roles:role_list", org_slug=org_slug)
    sees_people = organization_wide(request).can(catalog.MANAGE_MEMBERS)
    return render(
        request,
        "roles/role_confirm_delete.html",
        {
            "role": role,
            "members": list(selectors.role_members(role)) if sees_people else [],
            "member_count": role.memberships.count(),
            "error": error,
        },
        status=409 if error else 200,
    )
