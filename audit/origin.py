"""Where a request comes from, for the audit rows written while it runs ("from where").

``AuditMiddleware`` binds the request's ``Origin`` for the duration of the request;
``audit_record`` stamps every row written meanwhile with it, so services record the client's
address and user agent without being handed the request. The address is
``fastn_console.clients.client_ip`` (``X-Forwarded-For`` only behind
``DJANGO_TRUSTED_PROXY_COUNT`` proxies); anything that is not an IP address is dropped rather
than stored. Rows written outside a request (Celery tasks, commands) carry neither.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest

from fastn_console.clients import client_ip

USER_AGENT_MAX_LENGTH = 512


@dataclass(frozen=True)
class Origin:
    ip_address: str | None = None
    user_agent: str | None = None


NOWHERE = Origin()
_current: ContextVar[Origin] = ContextVar("audit_origin", default=NOWHERE)


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def origin_of(request: HttpRequest) -> Origin:
    agent = str(request.META.get("HTTP_USER_AGENT", "")).strip()
    return Origin(
        ip_address=_valid_ip(client_ip(request)),
        user_agent=agent[:USER_AGENT_MAX_LENGTH] or None,
    )


def current_origin() -> Origin:
    """The origin of the request being served (``NOWHERE`` outside one)."""
    return _current.get()


@contextmanager
def bound_origin(origin: Origin) -> Iterator[Origin]:
    token = _current.set(origin)
    try:
        yield origin
    finally:
        _current.reset(token)
