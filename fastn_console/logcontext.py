"""Every log line names its request, organization and customer (SPEC §15), in web and worker.

- ``RequestIdMiddleware`` (outermost) gives each request an id — the caller's ``X-Request-ID``
  when it is a plain token, a new one otherwise — and answers it in ``X-Request-ID``. The id
  stays bound until ``request_finished``, so Django's own line about a 4xx/5xx (written after
  the middleware) carries it too.
- ``ContextFilter`` (on the console handler) puts ``request_id``, ``org_id`` and ``customer_id``
  on every record: the current tenant scope first, then what the running task was sent with.
- A task is sent with the request id, organization and customer of its sender in its headers
  (``before_task_publish``); the worker restores them while it runs the task (``task_prerun``),
  so a worker's lines keep the fields of the request that caused them.

``LOG_FORMAT=json`` (python-json-logger) writes one JSON object per line with these fields;
``text`` (the default) writes them as ``request=… org=… customer=…``.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from tenancy.context import current_scope

HEADER = "X-Request-ID"
FIELDS = ("request_id", "org_id", "customer_id")
_TOKEN = re.compile(r"[A-Za-z0-9._:-]{8,128}")
_sent_with: ContextVar[dict[str, str] | None] = ContextVar("fastn_log_fields", default=None)


def log_fields() -> dict[str, str]:
    """The fields a line written now carries (``-`` where there is none)."""
    fields = {name: "-" for name in FIELDS}
    fields.update(_sent_with.get() or {})
    scope = current_scope()
    if scope is not None and scope.org_id:
        fields["org_id"] = str(scope.org_id)
        fields["customer_id"] = str(scope.customer_id) if scope.customer_id else "-"
    return fields


def bind(**fields: str) -> Any:
    """Set the fields for what runs in this context from now on; returns the reset token."""
    return _sent_with.set({name: value for name, value in fields.items() if value})


def unbind(token: Any) -> None:
    _sent_with.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in log_fields().items():
            if not getattr(record, name, None):
                setattr(record, name, value)
        return True


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get(HEADER, "")
        request_id = offered if _TOKEN.fullmatch(offered) else uuid.uuid4().hex
        bind(request_id=request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _request_finished(**_: Any) -> None:
    _sent_with.set(None)


request_finished.connect(_request_finished, dispatch_uid="fastn_console.logcontext")


# --- Celery: the sender's fields travel in the task's headers ------------------------------------


def add_sender_fields(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is None:
        return
    for name, value in log_fields().items():
        if value != "-":
            headers.setdefault(f"log_{name}", value)


def restore_sender_fields(task: Any = None, **_: Any) -> None:
    request = task.request
    fields = {name: getattr(request, f"log_{name}", None) or "" for name in FIELDS}
    request.log_token = bind(**fields)


def forget_sender_fields(task: Any = None, **_: Any) -> None:
    token = getattr(task.request, "log_token", None)
    if token is not None:
        unbind(token)
        task.request.log_token = None
