"""Who is asking: the client's IP address, and the login name that throttles count.

Behind a reverse proxy ``REMOTE_ADDR`` is the proxy. ``DJANGO_TRUSTED_PROXY_COUNT`` says how many
proxies in front of the console append to ``X-Forwarded-For``; only then is that header read
(and ``X-Forwarded-Proto`` trusted, see settings). Without it the header is the client's own
words and is ignored, so nobody picks their own throttling bucket by sending one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The address of the client: ``REMOTE_ADDR``, or the entry the nearest trusted proxy
    appended to ``X-Forwarded-For``."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    header = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    forwarded = [part.strip() for part in header.split(",") if part.strip()]
    # Each trusted proxy appends the address it saw; what lies further left the client wrote.
    return forwarded[-proxies] if len(forwarded) >= proxies else remote


def login_name(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """The email a login attempt names, as the account is stored (trimmed, lowercase), so
    ``Target@x`` and ``target@x`` share one lockout budget (``AXES_USERNAME_CALLABLE``)."""
    field = settings.AXES_USERNAME_FORM_FIELD
    raw = (credentials or {}).get(field) or request.POST.get(field, "")
    return str(raw).strip().lower()
