"""The JSON API at ``/api/v1/`` (django-ninja), its OpenAPI schema and docs page.

The operations are in ``api.operations``, ``api.events`` and ``api.workflows``, the error
handlers in ``api.errors``. Every operation runs through ``api.auth.api_scope`` (key, states,
customer, rate limit, tenant context) and checks its catalog permission with ``authorize`` on
the key's preset. Errors share one shape,
``{"error": {"code", "message", "limit"?, "details"?}}``; docs/API.md lists the codes.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, re_path
from ninja import NinjaAPI
from ninja.operation import Operation
from ninja.security import HttpBearer

from api import errors
from api.auth import END_ORG_HEADER, ApiRequest, api_request_of, error_body
from api.events import router as events_router
from api.operations import router
from api.workflows import router as workflows_router


class ApiKeyBearer(HttpBearer):
    """Documents the bearer scheme; ``api_scope`` has already checked the key."""

    openapi_description = (
        "An API key, `fsk_live_<organization id>_<secret>`, created under Settings → API Keys."
    )

    def authenticate(self, request: HttpRequest, token: str) -> ApiRequest | None:
        return api_request_of(request)


class ConsoleApi(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        """``api_endpoints_<name>``: the ids clients generate code from, kept from when the
        operations were defined in this module."""
        return f"api_endpoints_{operation.view_func.__name__}"

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        """Add the ``x-end-org-id`` header to every operation."""
        schema = super().get_openapi_schema(*args, **kwargs)
        components = schema.setdefault("components", {})
        components.setdefault("parameters", {})["EndOrgId"] = {
            "name": END_ORG_HEADER,
            "in": "header",
            "required": False,
            "description": (
                "The customer's ID (UUID). Required by keys limited to selected customers and "
                "by customer data (connections, workflows, executions, events, embed tokens); "
                "without it a call counts against the organization-wide bucket."
            ),
            "schema": {"type": "string", "format": "uuid"},
        }
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.setdefault("parameters", []).append(
                    {"$ref": "#/components/parameters/EndOrgId"}
                )
        return schema


api_v1 = ConsoleApi(
    title="Fastn Console API",
    version="1",
    description=(
        "Your backend's interface to the platform. Authenticate with "
        "`Authorization: Bearer <API key>` and name the customer with `x-end-org-id`. "
        'Errors: `{"error": {"code", "message"}}`; see docs/API.md for the codes.'
    ),
    urls_namespace="api_v1",
    auth=ApiKeyBearer(),
)
for exception, handler in errors.HANDLERS.items():
    api_v1.add_exception_handler(exception, handler)

api_v1.add_router("", router)
api_v1.add_router("", events_router)
api_v1.add_router("", workflows_router)


def _json_not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    return JsonResponse(error_body("not_found", "No such API endpoint."), status=404)


def _public(patterns: list[Any]) -> list[Any]:
    """API requests authenticate with their key, never with a session login."""
    for pattern in patterns:
        callback = getattr(pattern, "callback", None)
        if callback is not None:
            callback.login_required = False
    return patterns


_json_not_found.login_required = False  # type: ignore[attr-defined]
app_name = "api_v1"
urlpatterns: list[URLPattern] = [
    *_public(api_v1.urls[0]),  # type: ignore[index]
    re_path(r"^(?P<path>.*)$", _json_not_found, name="not_found"),
]
