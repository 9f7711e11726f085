"""The console's entry point into a tenant scope (SPEC §5.7); it composes the tenancy layer
with the domain apps (organizations, memberships, the state table), so it lives here.

For every authenticated request the middleware resolves the URL itself. Console URLs carry
``org_slug`` (and, on customer pages, ``customer_id``); the membership found under
``app.user_id`` gives the organization, the role and any customer restriction. No membership, or
a customer-restricted member outside their customer's pages, is a 404 — never a hint that the
organization exists. The view runs inside ``tenancy.context``; an exception or a 5xx rolls the
transactions back. Writes (any method but GET, HEAD, OPTIONS) are refused for a suspended
organization (``organization_suspended``) and a relocating customer (``customer_relocating``)
before any view runs, as ``customers.states`` says. Other authenticated pages run with
``app.user_id`` only; public pages and the staff admin (which enters the platform scope
itself) run with no tenant context.

The one exception to "the view runs inside the context": views marked
``fastn_console.console.outside_request_transaction`` (they make an outbound call, which must
not hold a database transaction open). For those the middleware does everything above — the
404s, the tenant, the state table's refusals — inside the context, commits, and then runs the
view with no context and no transaction; the view re-enters the scope for its reads and
writes (``tenant_scope(request)``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, ResolverMatch, resolve

from accounts.selectors import memberships_of_current_user
from customers import states
from customers.models import Customer, Organization
from fastn_console.console import Tenant, runs_outside_request_transaction, tenant_attach
from roles.selectors import membership_for_request
from tenancy.context import CUSTOMER, ORGANIZATION, context, mark_rollback

request_log = logging.getLogger("fastn_console.requests")

ADMIN_NAMESPACE = "admin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The console page shown for a refused write carries its own explanation (the API has its own).
WRITE_REFUSAL_MESSAGES = {
    "organization_suspended": (
        "Members can still read everything, but changes are refused until Fastn staff "
        "reactivate the organization."
    ),
    "customer_relocating": (
        "Reads work while it moves; changes are refused until the relocation ends. Its progress "
        "is on the customer's Residency tab."
    ),
}


def resolve_console(path: str) -> ResolverMatch | None:
    """The URL match of a page the middleware scopes, or ``None`` (unknown URL, staff admin)."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    if ADMIN_NAMESPACE in match.namespaces:
        return None
    return match


def state_refusal(
    request: HttpRequest, organization: Organization, customer: Customer | None
) -> HttpResponse | None:
    """A refusal page for a write the organization's state forbids (SPEC §3), or for a write
    to a relocating customer; other customer states are refused by the services."""
    if request.method in SAFE_METHODS:
        return None
    code = states.organization_refusal(organization, "write")
    if code is None and customer is not None:
        code = states.customer_refusal(customer, "write")
        if code not in WRITE_REFUSAL_MESSAGES:
            code = None
    if code is None:
        return None
    refusal = states.REFUSALS[code]
    data = {"code": code, "title": refusal.title, "message": WRITE_REFUSAL_MESSAGES[code]}
    return render(request, "state_refused.html", data, status=refusal.status)


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
        org_slug = match.kwargs.get("org_slug") if match else None
        if match is not None and org_slug and runs_outside_request_transaction(match.func):
            with context(user_id=user.pk):
                with self._organization_scope(request, user, org_slug, match) as refusal:
                    if refusal is not None:
                        return refusal
            return self.get_response(request)
        with context(user_id=user.pk):
            if match is None or not org_slug:
                return self._run(request)
            with self._organization_scope(request, user, org_slug, match) as refusal:
                if refusal is not None:
                    return refusal
                return self._run(request)

    @contextmanager
    def _organization_scope(
        self, request: HttpRequest, user: Any, org_slug: str, match: ResolverMatch
    ) -> Iterator[HttpResponse | None]:
        """Resolve the organization, the membership and the URL's customer (404 for anyone
        outside them) and enter their context, with the tenant attached to the request. Yields
        the state table's refusal page, or ``None``: go on with the view. A non-member holding
        a token on a token page gets ``None`` and no tenant (the view's own resolver checks
        the token)."""
        # The user's active memberships in live organizations, in one query: this page's one
        # and the organization switcher's list (Tenant.memberships).
        memberships = list(memberships_of_current_user().select_related("user"))
        membership = next((m for m in memberships if m.org.slug == org_slug), None)
        if membership is not None:
            organization: Organization | None = membership.org
        else:
            organization = Organization.objects.live().filter(slug=org_slug).first()
        if organization is None:
            raise Http404
        if membership is None:
            # Pages whose views accept an embed token from people who are not members.
            token_page = bool(TOKEN_NAMESPACES & set(match.namespaces))
            if token_page and carries_token(request):
                # Not a member here, but maybe holding a connect link: the widget's own
                # resolver checks the token and enters the customer's context itself.
                yield None
                return
            raise Http404
        customer_id = match.kwargs.get("customer_id")
        if customer_id is not None and not isinstance(customer_id, uuid.UUID):
            raise Http404
        restricted = membership.restricted_customer_id
        if restricted is not None and customer_id != restricted:
            raise Http404
        role = CUSTOMER if restricted is not None else ORGANIZATION
        # No savepoint: the user's scope around it has nothing to keep if this one fails.
        with context(
            org_id=organization.id,
            customer_id=customer_id,
            role=role,
            user_id=user.pk,
            savepoint=False,
        ) as scope:
            customer = None
            if customer_id is not None:
                customer = Customer.objects.live().filter(id=customer_id).first()
                if customer is None:
                    raise Http404
            tenant_attach(
                request,
                Tenant(
                    organization, membership_for_request(membership), scope, customer, memberships
                ),
            )
            yield state_refusal(request, organization, customer)

    def _run(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        if response.status_code >= 500:
            mark_rollback()
        if settings.LOG_REQUESTS:
            # Written inside the scope, so the line names the organization and customer.
            request_log.info(
                "%s %s %s %.0fms",
                request.method,
                request.path,
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        mark_rollback()
