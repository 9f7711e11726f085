"""What console views know about the request, typed and written once.

``TenantContextMiddleware`` (``fastn_console.middleware``) resolves every ``/o/<org_slug>/…``
URL and leaves a ``Tenant`` on the request. Views read it with ``tenant_of(request)`` (or
``organization_wide(request)``, which refuses customer-restricted members with a 404), guard
themselves with ``@permission_required(key)``, load objects with ``get_for_tenant_or_404`` inside
their Healthchecks-style ``_get_<thing>_for_user`` helpers, and turn a service's
``ValidationError`` into form errors with ``add_service_errors`` (``form_saved`` for a form,
``button_action`` for a POST-only button).

Templates decide which buttons to show with ``perms_keys`` (``"customers.create" in
perms_keys``), which asks ``roles.selectors.has_permission`` — the same rules the server
applies — for the request's member, organization and customer.

A view that calls out (an outbound HTTP call: a connection test, a test panel) is decorated with
``@outside_request_transaction``: no outbound call may run inside a database transaction, and
the middleware would otherwise hold the request's for the whole view. For such a view the
middleware resolves the tenant and applies the state table as for every console page, then
commits and runs the view with no scope at all. The view does its reads and checks inside
``tenant_scope(request)``, leaves it, calls out, and writes what the call left (its execution
log) in a fresh ``tenant_scope(request)``; ``permission_required``, ``Tenant.authorize`` and
``perms_keys`` enter that scope for their own check when none is in force.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from customers.models import Customer, Organization
from roles.models import Membership
from roles.selectors import authorize, has_permission
from tenancy.context import ORGANIZATION, Scope, context, current_scope

View = Callable[..., HttpResponse]


def scope_reentered(scope: Scope | None) -> AbstractContextManager[Scope | None]:
    """The scope in force; or, where none is (a view running outside the request's
    transaction, see ``outside_request_transaction``), ``scope`` entered afresh: a new
    ``tenancy.context`` with the same values, its own transactions."""
    current = current_scope()
    if current is not None or scope is None:
        return nullcontext(current)
    return context(
        org_id=scope.org_id,
        customer_id=scope.customer_id,
        role=scope.role or ORGANIZATION,
        user_id=scope.user_id,
        region=scope.region,
    )


@dataclass
class MemberPermissions:
    """``key in permissions``: whether the member may act here, by ``authorize``'s rules."""

    membership: Membership
    organization: Organization
    customer: Customer | None = None
    scope: Scope | None = None
    _answers: dict[str, bool] = field(default_factory=dict, repr=False)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if key not in self._answers:
            with scope_reentered(self.scope):
                self._answers[key] = has_permission(
                    self.membership, key, self.organization, self.customer
                )
        return self._answers[key]


@dataclass
class Tenant:
    """What the middleware resolved for a console request; ``request.tenant``."""

    organization: Organization
    membership: Membership
    scope: Scope
    customer: Customer | None = None
    # The user's active memberships in live organizations (the organization switcher).
    memberships: list[Membership] = field(default_factory=list)
    permissions: MemberPermissions = field(init=False)

    def __post_init__(self) -> None:
        self.permissions = MemberPermissions(
            self.membership, self.organization, self.customer, self.scope
        )

    @property
    def is_customer_restricted(self) -> bool:
        return self.membership.restricted_customer_id is not None

    def can(self, key: str) -> bool:
        return key in self.permissions

    def authorize(self, key: str, customer: Customer | None = None) -> None:
        """Raise ``PermissionDenied`` unless the member holds ``key`` (for ``customer``)."""
        with self.entered():
            authorize(self.membership, key, self.organization, customer or self.customer)

    def entered(self) -> AbstractContextManager[Scope | None]:
        """The request's scope (see ``scope_reentered``)."""
        return scope_reentered(self.scope)


_TENANT_ATTRIBUTE = "tenant"


def tenant_attach(request: HttpRequest, tenant: Tenant) -> None:
    """The middleware's half: what ``tenant_of`` reads (templates see it as ``tenant``)."""
    setattr(request, _TENANT_ATTRIBUTE, tenant)


def tenant_of(request: HttpRequest) -> Tenant:
    """The request's tenant; a 404 on a page the middleware did not scope (a wiring bug)."""
    tenant = getattr(request, _TENANT_ATTRIBUTE, None)
    if not isinstance(tenant, Tenant):
        raise Http404
    return tenant


def organization_wide(request: HttpRequest, key: str | None = None) -> Tenant:
    """The tenant of a page for organization-wide members; customer-restricted ones get 404,
    and members without ``key`` (when given) 403."""
    tenant = tenant_of(request)
    if tenant.is_customer_restricted:
        raise Http404
    if key is not None:
        tenant.authorize(key)
    return tenant


def permission_required(key: str) -> Callable[[View], View]:
    """Refuse the view (403) unless the member holds ``key`` here (the URL's customer, if any)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            tenant_of(request).authorize(key)
            return view(request, *args, **kwargs)

        return guarded

    return decorate


_OUTSIDE_TRANSACTION = "console_outside_request_transaction"


def outside_request_transaction(view: View) -> View:
    """Mark a console view that makes an outbound call: the middleware resolves its tenant but
    holds no transaction while it runs; the view enters ``tenant_scope(request)`` around its
    reads and writes and calls out between them (see the module docstring). Decorators that
    use ``functools.wraps`` above it keep the mark."""
    setattr(view, _OUTSIDE_TRANSACTION, True)
    return view


def runs_outside_request_transaction(view: Callable[..., Any]) -> bool:
    """Whether ``view`` is marked with ``outside_request_transaction``."""
    return bool(getattr(view, _OUTSIDE_TRANSACTION, False))


def tenant_scope(request: HttpRequest) -> AbstractContextManager[Scope | None]:
    """The request's scope, entered afresh by a view that runs outside the request's
    transaction (a no-op inside it)."""
    return tenant_of(request).entered()


def customer_of(request: HttpRequest, customer_id: object) -> Customer:
    """The customer of this URL, resolved by the middleware in the member's scope; 404 for
    anything outside it (another organization's, another customer's, or being deleted)."""
    customer = tenant_of(request).customer
    if customer is None or customer.id != customer_id:
        raise Http404
    return customer


def get_for_tenant_or_404[M: Model](queryset: QuerySet[M], **lookups: Any) -> M:
    """One row of a scoped queryset, or 404: outsiders never learn that it exists."""
    found = queryset.filter(**lookups).first()
    if found is None:
        raise Http404
    return found


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ``ValidationError`` on the form: per field where it names one."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def form_saved[T](request: HttpRequest, form: forms.BaseForm, save: Callable[[], T]) -> T | None:
    """What ``save`` returns for a valid posted ``form``, or ``None``: not posted, not valid, or
    refused by the service, whose ``ValidationError`` then shows on the form."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return save()
    except ValidationError as error:
        add_service_errors(form, error)
        return None


def button_action(
    request: HttpRequest, write: Callable[[], Any], *, done: str, then: str, **url: Any
) -> HttpResponse:
    """A POST-only button: run ``write``, say ``done`` or why it was refused, go to the page
    ``then`` (a URL name, with ``url``'s arguments)."""
    try:
        write()
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect(then, **url)
