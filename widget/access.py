"""Who reaches the end-user widget, and in which scope (SPEC §5.7): ``widget_view`` resolves
the principal of a widget page and calls the view with a ``Widget``.

Two kinds of principal reach it, both restricted to one customer:

* **Signed-in members restricted to that customer.** The tenancy middleware resolves the
  ``org_slug`` and ``customer_id`` URL kwargs exactly as for console pages (404 for anyone else)
  and runs the view inside the context; Django's CSRF protection applies. Organization-wide
  members get 404 unless they bring a token, which then decides like for anyone else.
* **Holders of a connect link or embed token** (not signed in). ``widget_view`` verifies the
  token (``widget.tokens``), checks that it names this organization and customer, and enters
  ``tenancy.context(org_id, customer_id, role="customer")`` itself. The token travels in the
  ``token`` query parameter of every widget link, in a hidden ``token`` field of every form, and
  in a cookie limited to this widget's path (``SameSite=None; Secure`` over HTTPS so it also works
  inside an iframe). A POST must carry the token in its body — a cookie alone is not enough —
  which is what protects token holders from cross-site requests, so these views skip Django's
  cookie-based CSRF check for them. A token holder's refused action (a revoked grant, a missing
  permission) is audited here, in the organization's log; a member's by the audit middleware.

A suspended organization or a suspended, pending or deleting customer gets a page that says so
(403) and nothing else. A view marked ``outside_request_transaction`` (it calls out) runs with
no transaction open, for either principal, and enters ``widget.entered()`` around its reads and
writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Container
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from audit.services import audit_request_refusal, refused_permission
from customers.models import Customer, Organization
from customers.states import widget_refusal
from fastn_console.console import (
    Tenant,
    runs_outside_request_transaction,
    scope_reentered,
    tenant_of,
)
from roles.selectors import has_permission
from tenancy.context import CUSTOMER, Scope, context, mark_rollback
from widget import tokens
from widget.embedding import embedding_origins
from widget.pages import frame_headers, origins_in, refused
from widget.selectors import embed_grant_refusal

COOKIE = "fastn_widget"


@dataclass
class Widget:
    """Who is using the widget, for which customer, and what they may do."""

    organization: Organization
    customer: Customer
    principal: Any
    token: str | None
    scope: Scope
    perms: Container[str] = field(default_factory=frozenset)
    origins: list[str] = field(default_factory=list)  # allowed embedding origins

    def entered(self) -> AbstractContextManager[Scope | None]:
        """The widget's scope: the one in force, or entered afresh by a view that runs outside
        the request's transaction."""
        return scope_reentered(self.scope)

    def authorize(self, key: str) -> None:
        with self.entered():
            allowed = has_permission(self.principal, key, self.organization, self.customer)
        if not allowed:
            raise PermissionDenied(f"Missing permission {key}")

    @property
    def actor(self) -> Any:
        return self.principal.user if self.token is None else self.principal

    def writes(self) -> dict[str, Any]:
        """What every data-plane service takes: who acts, for which organization and customer."""
        return {
            "acting_user": self.actor,
            "organization": self.organization,
            "customer": self.customer,
        }

    def url(self, name: str, **kwargs: Any) -> str:
        path = reverse(
            f"widget:{name}",
            kwargs={"org_slug": self.organization.slug, "customer_id": self.customer.id, **kwargs},
        )
        return f"{path}?{urlencode({'token': self.token})}" if self.token else path


WidgetView = Callable[..., HttpResponse]


def _token_from(request: HttpRequest) -> str:
    if request.method == "POST":
        return str(request.POST.get("token", ""))
    return str(request.GET.get("token") or request.COOKIES.get(COOKIE, ""))


def _member_tenant(request: HttpRequest) -> Tenant | None:
    """The signed-in member's tenant, when the middleware scoped the request (token holders
    who are not members here have none)."""
    try:
        return tenant_of(request)
    except Http404:
        return None


def _token_refusal_record(
    request: HttpRequest,
    principal: tokens.EmbedPrincipal,
    *,
    permission: str = "",
    reason: str = "",
    scope: AbstractContextManager[Any] | None = None,
) -> None:
    """A token holder's refused action in the organization's audit log (SPEC §14), once per
    grant and action a minute; a signed-in member's is the audit middleware's."""
    audit_request_refusal(
        request,
        permission,
        actor=principal,
        principal_id=principal.grant_id,
        subject_customer_id=principal.customer_id,
        scope=scope,
        reason=reason,
    )


def widget_view(view: WidgetView) -> Callable[..., HttpResponse]:
    """Resolve the widget's principal (member or token holder), refuse suspended states, then
    call ``view(request, widget, **kwargs)`` inside the customer's context."""

    def run(request: HttpRequest, widget: Widget, kwargs: dict[str, Any]) -> HttpResponse:
        refusal = widget_refusal(organization=widget.organization, customer=widget.customer)
        if refusal is not None:
            return refused(request, refusal)
        return view(request, widget, **kwargs)

    @wraps(view)
    def as_member(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        tenant = tenant_of(request)
        if not tenant.is_customer_restricted or tenant.customer is None:
            raise Http404
        widget = Widget(
            tenant.organization,
            tenant.customer,
            tenant.membership,
            None,
            tenant.scope,
            tenant.permissions,
            origins_in(tenant.scope),
        )
        return run(request, widget, kwargs)

    member_view = csrf_protect(as_member)
    outside = runs_outside_request_transaction(view)

    @wraps(view)
    @login_not_required
    @csrf_exempt
    def resolver(
        request: HttpRequest, org_slug: str, customer_id: uuid.UUID, **kwargs: Any
    ) -> HttpResponse:
        raw = _token_from(request)
        tenant = _member_tenant(request)
        if tenant is not None and (tenant.is_customer_restricted or not raw):
            return frame_headers(member_view(request, **kwargs), origins_in(tenant.scope))
        # Not signed in, or an organization-wide member opening a link they were given (e.g.
        # to try the one they just shared): the token decides, exactly as for anyone else.
        if not raw:
            return frame_headers(refused(request, "token_missing"))
        try:
            principal = tokens.verify(raw)
        except tokens.TokenInvalid as exc:
            return frame_headers(refused(request, f"token_{exc.reason}"))
        if principal.customer_id != customer_id:
            raise Http404

        def token_scope() -> AbstractContextManager[Scope]:
            return context(org_id=principal.org_id, customer_id=customer_id, role=CUSTOMER)

        try:
            with token_scope() as scope:
                organization = Organization.objects.filter(
                    id=principal.org_id, slug=org_slug
                ).first()
                customer = Customer.objects.filter(id=customer_id).first()
                if organization is None or customer is None:
                    raise Http404
                origins = embedding_origins()
                # A revoked, ended or unknown grant refuses the token and every refresh of it.
                grant_refusal = embed_grant_refusal(principal=principal)
                if grant_refusal is not None:
                    _token_refusal_record(request, principal, reason=f"token_{grant_refusal}")
                    return frame_headers(refused(request, f"token_{grant_refusal}"), origins)
                widget = Widget(
                    organization, customer, principal, raw, scope, principal.permissions, origins
                )
                if not outside:
                    response = run(request, widget, kwargs)
                    if response.status_code >= 500:
                        mark_rollback()
            if outside:
                response = run(request, widget, kwargs)
        except PermissionDenied as denied:
            # The scope's transaction is rolled back: the row is written in one of its own.
            _token_refusal_record(
                request,
                principal,
                permission=refused_permission(denied),
                scope=token_scope(),
            )
            raise
        # Also on a POST's redirect: an OAuth Connect started in a popup (static/widget/widget.js)
        # begins with one, and the provider's callback then finds the token in the cookie.
        if response.status_code == 200 or (
            request.method == "POST" and response.status_code == 302
        ):
            secure = request.is_secure()
            response.set_cookie(
                COOKIE,
                raw,
                max_age=settings.EMBED_TOKEN_MAX_AGE_SECONDS,
                path=reverse(
                    "widget:home", kwargs={"org_slug": org_slug, "customer_id": customer_id}
                ),
                secure=secure,
                httponly=True,
                samesite="None" if secure else "Lax",
            )
        return frame_headers(response, origins)

    return resolver
