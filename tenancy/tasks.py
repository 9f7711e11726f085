"""Celery tasks enter the tenant context explicitly (SPEC §5.7).

``tenant_task`` wraps a task whose first keyword arguments are ``org_id`` and optionally
``customer_id``: the task body runs inside ``tenancy.context`` for them, and a call without an
``org_id`` raises ``TenantContextMissing`` instead of running unscoped.

``publish_on_commit`` queues a task once the scope's transaction commits, bounded by the
broker's timeouts (``BROKER_TIMEOUT_SECONDS``): a broker that is down or frozen costs the
request at most that long and never fails it. The failure is logged with the task's arguments
and the committed row keeps its state (queued, deleting, relocating), so an operator can send
the task again (docs/OPERATIONS.md); signup applications have a sweep of their own.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task

from tenancy.context import ORGANIZATION, TenantContextMissing, context, on_commit

logger = logging.getLogger(__name__)


def publish(task: Any, *, kwargs: dict[str, Any], queue: str | None = None) -> bool:
    """Send ``task`` now; False (logged) when the broker did not take it in time."""
    try:
        task.apply_async(kwargs=kwargs, queue=queue, retry=False)
    except Exception:  # any broker failure: the committed row keeps its state
        # The line says how to send it again: celery -A fastn_console call NAME --kwargs 'JSON'
        logger.exception("Could not queue %s --kwargs '%s'", task.name, json.dumps(kwargs))
        return False
    return True


def publish_on_commit(task: Any, *, kwargs: dict[str, Any], queue: str | None = None) -> None:
    """Send ``task`` after the current scope's transaction commits (see the module docstring)."""
    on_commit(lambda: publish(task, kwargs=kwargs, queue=queue))


def tenant_task(*task_args: Any, **task_options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``@tenant_task(bind=True, autoretry_for=…)`` — like ``shared_task``, scoped."""

    def decorator(func: Callable[..., Any]) -> Any:
        @functools.wraps(func)
        def scoped(*args: Any, **kwargs: Any) -> Any:
            org_id = kwargs.get("org_id")
            if not org_id:
                raise TenantContextMissing(f"Task {func.__name__} needs org_id= to enter a scope.")
            with context(
                org_id=org_id,
                customer_id=kwargs.get("customer_id"),
                role=ORGANIZATION,
                user_id=kwargs.get("acting_user_id"),
            ):
                return func(*args, **kwargs)

        return shared_task(*task_args, **task_options)(scoped)

    return decorator
