"""How the API answers an exception: one shape, ``{"error": {"code", "message", …}}``.

``HANDLERS`` maps each exception class to its handler; ``api.endpoints`` registers them on the
API. docs/API.md lists the codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from api.auth import ApiError, api_request_of, error_body, error_response
from audit.services import audit_request_refusal, refused_permission
from billing.services import LimitReached
from fastn_console.unavailable import unavailable_response

# ValidationError codes raised by services -> (HTTP status, API error code)
SERVICE_REFUSALS: dict[str, tuple[int, str]] = {
    "organization_suspended": (403, "organization_suspended"),
    "customer_suspended": (403, "customer_suspended"),
    "customer_pending_activation": (403, "customer_pending_activation"),
    "customer_relocating": (409, "customer_relocating"),
    "customer_deleting": (404, "customer_not_found"),
    "disabled": (409, "workflow_disabled"),
    "not_deployed": (409, "not_deployed"),
    "already_added": (409, "already_added"),
}


def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc)


def _invalid_request(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {k: v for k, v in error.items() if k in ("loc", "msg", "type")} for error in exc.errors
    ]
    body = error_body("invalid_request", "The request is not valid.", details=errors)
    return JsonResponse(body, status=422)


def _refused(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    if isinstance(exc, LimitReached):
        return error_response(
            ApiError(
                409, "limit_reached", exc.messages[0], limit={"name": exc.key, "value": exc.limit}
            )
        )
    code = getattr(exc, "code", None)
    if code in SERVICE_REFUSALS:
        status, api_code = SERVICE_REFUSALS[code]
        return error_response(ApiError(status, api_code, exc.messages[0]))
    details = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
    body = error_body("invalid_request", " ".join(exc.messages), details=details)
    return JsonResponse(body, status=422)


def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    api = api_request_of(request)
    if api is not None:  # inside the operation's scope, whose transaction commits on a 403
        audit_request_refusal(
            request,
            refused_permission(exc),
            actor=api.principal,
            principal_id=api.principal.key.id,
            subject_customer_id=api.customer.id if api.customer else None,
        )
    message = str(exc) or "The API key's preset does not allow this."
    return JsonResponse(error_body("permission_denied", message), status=403)


def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return JsonResponse(error_body("not_found", str(exc) or "Not found."), status=404)


def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return JsonResponse(error_body("invalid_api_key", "The API key is not valid."), status=401)


def _unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    return unavailable_response(request)


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = "invalid_request" if exc.status_code < 500 else "server_error"
    return JsonResponse(error_body(code, str(exc)), status=exc.status_code)


HANDLERS: dict[type[Exception], Callable[[HttpRequest, Any], HttpResponse]] = {
    ApiError: _api_error,
    NinjaValidationError: _invalid_request,
    DjangoValidationError: _refused,
    PermissionDenied: _forbidden,
    Http404: _not_found,
    AuthenticationError: _unauthenticated,
    HttpError: _http_error,
    # A database that is away (fastn_console.unavailable answers the same outside the API).
    OperationalError: _unavailable,
    InterfaceError: _unavailable,
}
