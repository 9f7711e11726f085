"""``/healthz``: database, Redis and Celery, for load balancers and uptime checks."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database() -> str:
    aliases = ["default", *{a.runtime for a in settings.TENANCY_REGION_ALIASES.values()}]
    for alias in dict.fromkeys(aliases):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    return "ok"


def _redis() -> str:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    client.ping()
    return "ok"


def _celery() -> str:
    from fastn_console.celery import app

    replies = app.control.ping(timeout=1.0)
    return "ok" if replies else "no workers"


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    for name, probe in (("database", _database), ("redis", _redis), ("celery", _celery)):
        try:
            checks[name] = probe()
        except Exception as exc:  # noqa: BLE001 - a health probe reports any failure
            checks[name] = f"error: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", **checks}, status=200 if healthy else 503
    )
