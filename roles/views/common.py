"""What the Settings → Roles and Settings → People pages share: the organization-wide member,
the 404 lookups, and the two shapes of a write (a form, a POST-only button)."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from fastn_console.console import (
    get_for_tenant_or_404,
    organization_wide,
)
from roles.models import Invitation, JoinRequest, Membership, Role

PAGE_SIZE = 25


def link_base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def page_of(request: HttpRequest, rows: QuerySet[Any]) -> Page[Any]:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def status_filter(request: HttpRequest, values: list[str], default: str) -> str:
    """The ``status`` filter of a list: one of ``values``, empty for any, else ``default``."""
    status = request.GET.get("status", default)
    return status if status in {"", *values} else default


# --- The objects of these pages: 404 for customer-restricted members and for other rows ------


def get_role_for_user(request: HttpRequest, role_id: uuid.UUID) -> Role:
    organization_wide(request)
    return get_for_tenant_or_404(Role.objects.all(), id=role_id)


def get_membership_for_user(request: HttpRequest, membership_id: uuid.UUID) -> Membership:
    organization_wide(request)
    return get_for_tenant_or_404(
        Membership.objects.select_related("user", "role", "restricted_customer"), id=membership_id
    )


def get_invitation_for_user(request: HttpRequest, invitation_id: uuid.UUID) -> Invitation:
    organization_wide(request)
    return get_for_tenant_or_404(
        Invitation.objects.select_related("role", "restricted_customer"), id=invitation_id
    )


def get_join_request_for_user(request: HttpRequest, join_request_id: uuid.UUID) -> JoinRequest:
    organization_wide(request)
    return get_for_tenant_or_404(JoinRequest.objects.all(), id=join_request_id)


def membership_home(membership: Membership) -> HttpResponse:
    """Where a member lands: the organization's home, or their own customer's page."""
    if membership.restricted_customer_id:
        return redirect(
            "customers:customer_detail",
            org_slug=membership.org.slug,
            customer_id=membership.restricted_customer_id,
        )
    return redirect("customers:home", org_slug=membership.org.slug)


def person_form(
    request: HttpRequest, form: Any, *, title: str, intro: str, submit: str
) -> HttpResponse:
    return render(
        request,
        "roles/person_form.html",
        {"form": form, "title": title, "intro": intro, "submit": submit},
    )
