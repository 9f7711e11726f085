"""While a database or Redis is unreachable, every page and API call answers 503 (SPEC §15).

``server_error`` is the console's ``handler500``: Django calls it for any exception no view
handled — in a view, in a middleware (the session, the login, the tenant context) or in a
template. When that exception says a backing service is away (the connection was refused or
dropped, a statement timed out, Redis did not answer), the answer is 503 with ``Retry-After``:
a page for people, ``{"error": {"code": "service_unavailable", …}}`` under ``/api/``. Anything
else is a real 500. Neither answer touches a database, and nothing needs a restart: Django opens
a new connection on the next request (``CONN_HEALTH_CHECKS`` drops a dead persistent one first).
"""

from __future__ import annotations

import sys

import redis
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.defaults import server_error as django_server_error
from kombu.exceptions import OperationalError as BrokerError

RETRY_AFTER_SECONDS = 5
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    redis.ConnectionError,
    redis.TimeoutError,
    BrokerError,
)
API_PREFIX = "/api/"
MESSAGE = "The service is briefly unavailable; nothing was lost. Try again in a few seconds."


def is_unavailable(exc: BaseException | None) -> bool:
    """``exc`` or an exception it was raised from says a backing service is away."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, UNAVAILABLE_ERRORS):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def unavailable_response(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith(API_PREFIX):
        body = {"error": {"code": "service_unavailable", "message": MESSAGE}}
        response = JsonResponse(body, status=503)
    else:
        html = render_to_string("unavailable.html", {"message": MESSAGE})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    if is_unavailable(sys.exc_info()[1]):
        return unavailable_response(request)
    return django_server_error(request, template_name)
