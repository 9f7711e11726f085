"""``AuditMiddleware``: the request's origin for audit rows, and refused actions recorded.

Placed after the authentication middleware and before (outside) ``TenantContextMiddleware``:

- For the whole request it binds the client's address and user agent (``audit.origin``), which
  ``audit_record`` stamps on every row written meanwhile.
- A view that raises ``PermissionDenied`` on a console page (``authorize`` says which key was
  missing) is recorded as ``access.denied`` (SPEC §14), once per member, action and minute
  (``audit_refusal``). The request's own transaction is rolled back on an exception, so the row
  is written after it, in a fresh transaction of the same scope (``tenancy.context`` entered
  again with the request's values); a failure to record never turns the 403 into an error.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from audit.origin import bound_origin, origin_of
from audit.services import audit_request_refusal, refused_permission
from fastn_console.console import scope_reentered, tenant_of

_REFUSAL_ATTRIBUTE = "_audit_refused_permission"


class AuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with bound_origin(origin_of(request)):
            response = self.get_response(request)
            refused = getattr(request, _REFUSAL_ATTRIBUTE, None)
            if refused is not None and response.status_code == 403:
                self._record_refusal(request, refused)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        # Django calls this inside the innermost middleware, whatever this one's place.
        if isinstance(exception, PermissionDenied):
            setattr(request, _REFUSAL_ATTRIBUTE, refused_permission(exception))

    def _record_refusal(self, request: HttpRequest, permission: str) -> None:
        try:
            tenant = tenant_of(request)
        except Http404:
            return  # not a console page (the staff admin, a public page)
        audit_request_refusal(
            request,
            permission,
            actor=tenant.membership.user,
            principal_id=tenant.membership.id,
            subject_customer_id=tenant.customer.id if tenant.customer else None,
            scope=scope_reentered(tenant.scope),
        )
