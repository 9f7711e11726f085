"""The console's entry point into a tenant scope (SPEC §5.7).

For every authenticated request the middleware resolves the URL itself. Console URLs carry
``org_slug`` (and, on customer pages, ``customer_id``); the membership found under
``app.user_id`` gives the organization, the role and any customer restriction. No membership, or
a customer-restricted member outside their customer's pages, is a 404 — never a hint that the
organization exists. The view runs inside ``tenancy.context``; an exception or a 5xx rolls the
transactions back. Writes (any method but GET, HEAD, OPTIONS) are refused for a suspended
organization (``organization_suspended``) and a relocating customer (``customer_relocating``)
before any view runs. Other authenticated pages run with ``app.user_id`` only; public pages and
the staff admin (which enters the platform scope itself) run with no tenant context.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, ResolverMatch, resolve

from tenancy.context import CUSTOMER, ORGANIZATION, Scope, context, mark_rollback

if TYPE_CHECKING:
    from customers.models import Customer, Organization
    from roles.models import Membership

ADMIN_NAMESPACE = "admin"


@dataclass
class Tenant:
    """What the middleware resolved for a console request; available as ``request.tenant``."""

    organization: Organization
    membership: Membership
    scope: Scope
    customer: Customer | None = None

    @property
    def is_customer_restricted(self) -> bool:
        return self.membership.restricted_customer_id is not None


def resolve_console(path: str) -> ResolverMatch | None:
    """The URL match of a page the middleware scopes, or ``None`` (unknown URL, staff admin)."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    if ADMIN_NAMESPACE in match.namespaces:
        return None
    return match


# State effects of SPEC §3 that hold for every console write, whatever the view.
REFUSED_WRITES = {
    "organization_suspended": (
        403,
        "This organization is suspended",
        "Members can still read everything, but changes are refused until Fastn staff "
        "reactivate the organization.",
    ),
    "customer_relocating": (
        409,
        "This customer's data is moving to another region",
        "Reads work while it moves; changes are refused until the relocation ends. Its progress "
        "is on the customer's Residency tab.",
    ),
}


def state_refusal(
    request: HttpRequest, organization: Organization, customer: Customer | None
) -> HttpResponse | None:
    """A refusal page for a write the organization's or customer's state forbids, else None."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    code = None
    if organization.status == "suspended":
        code = "organization_suspended"
    elif customer is not None and customer.status == "relocating":
        code = "customer_relocating"
    if code is None:
        return None
    from django.shortcuts import render

    status, title, message = REFUSED_WRITES[code]
    context = {"code": code, "title": title, "message": message}
    return render(request, "state_refused.html", context, status=status)


TOKEN_NAMESPACES = frozenset({"widget"})


def carries_token(request: HttpRequest) -> bool:
    """An embed token in the query, the form, or the widget's cookie (checked by the view)."""
    return bool(
        request.GET.get("token") or request.POST.get("token") or "fastn_widget" in request.COOKIES
    )


class TenantContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        match = resolve_console(request.path_info)
        if match is None and request.path_info.startswith("/admin/"):
            return self.get_response(request)
        with context(user_id=user.pk):
            org_slug = match.kwargs.get("org_slug") if match else None
            if match is None or not org_slug:
                return self._run(request)
            return self._run_in_organization(request, user, org_slug, match)

    def _run_in_organization(
        self, request: HttpRequest, user: Any, org_slug: str, match: ResolverMatch
    ) -> HttpResponse:
        from customers.models import Customer, Organization, OrganizationStatus
        from roles.models import Membership, MembershipStatus

        organization = (
            Organization.objects.exclude(status=OrganizationStatus.DELETING)
            .filter(slug=org_slug)
            .first()
        )
        if organization is None:
            raise Http404
        membership = (
            Membership.objects.of_current_user()
            .filter(org_id=organization.id, status=MembershipStatus.ACTIVE)
            .first()
        )
        if membership is None:
            # Pages whose views accept an embed token from people who are not members.
            token_page = bool(TOKEN_NAMESPACES & set(match.namespaces))
            if token_page and carries_token(request):
                # Not a member here, but maybe holding a connect link: the widget's own
                # resolver checks the token and enters the customer's context itself.
                return self._run(request)
            raise Http404
        customer_id = match.kwargs.get("customer_id")
        if customer_id is not None and not isinstance(customer_id, uuid.UUID):
            raise Http404
        restricted = membership.restricted_customer_id
        if restricted is not None and customer_id != restricted:
            raise Http404
        role = CUSTOMER if restricted is not None else ORGANIZATION
        with context(
            org_id=organization.id, customer_id=customer_id, role=role, user_id=user.pk
        ) as scope:
            customer = None
            if customer_id is not None:
                customer = (
                    Customer.objects.exclude(status="deleting").filter(id=customer_id).first()
                )
                if customer is None:
                    raise Http404
            request.tenant = Tenant(organization, membership, scope, customer)  # type: ignore[attr-defined]
            refusal = state_refusal(request, organization, customer)
            if refusal is not None:
                return refusal
            return self._run(request)

    def _run(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code >= 500:
            mark_rollback()
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        mark_rollback()
