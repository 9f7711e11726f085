"""Health endpoints for load balancers and operators (SPEC §10, §15).

``/healthz/live``  the process answers (no I/O): restart it when this fails.
``/healthz/ready`` every database alias and Redis answer: route traffic to it only then (503
                   with ``Retry-After`` otherwise).
``/healthz``       ``ready``'s checks plus the Celery workers' state. Celery is reported, never
                   a reason for a non-200: a missing worker must not take web nodes out. The
                   worker ping (a broadcast that waits up to a second) is remembered for
                   ``CELERY_STATE_TTL`` seconds, so hammering the public URL pings nothing more.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from fastn_console.celery import app as celery_app

CELERY_STATE_TTL = 30.0
RETRY_AFTER_SECONDS = 5
_celery_state: tuple[float, str] | None = None


def _database() -> str:
    aliases = ["default", *{a.runtime for a in settings.TENANCY_REGION_ALIASES.values()}]
    for alias in dict.fromkeys(aliases):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    return "ok"


def _redis() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def _celery() -> str:
    global _celery_state
    now = time.monotonic()
    if _celery_state is not None and now - _celery_state[0] < CELERY_STATE_TTL:
        return _celery_state[1]
    replies = celery_app.control.ping(timeout=1.0)
    state = "ok" if replies else "no workers"
    _celery_state = (now, state)
    return state


def _run(probes: dict[str, Callable[[], str]]) -> dict[str, str]:
    checks: dict[str, str] = {}
    for name, probe in probes.items():
        try:
            checks[name] = probe()
        except Exception as exc:  # noqa: BLE001 - a health probe reports any failure
            checks[name] = f"error: {exc.__class__.__name__}"
    return checks


def _answer(checks: dict[str, str], required: tuple[str, ...]) -> JsonResponse:
    ready = all(checks[name] == "ok" for name in required)
    healthy = ready and all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else ("degraded" if ready else "unavailable"), **checks}
    response = JsonResponse(body, status=200 if ready else 503)
    if not ready:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


READY_PROBES: dict[str, Callable[[], str]] = {"database": _database, "redis": _redis}


@login_not_required
@never_cache
@require_GET
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    return _answer(_run(READY_PROBES), tuple(READY_PROBES))


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return _answer(_run({**READY_PROBES, "celery": _celery}), tuple(READY_PROBES))
