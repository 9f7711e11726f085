"""Celery tasks enter the tenant context explicitly (SPEC §5.7).

``tenant_task`` wraps a task whose first keyword arguments are ``org_id`` and optionally
``customer_id``: the task body runs inside ``tenancy.context`` for them, and a call without an
``org_id`` raises ``TenantContextMissing`` instead of running unscoped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from celery import shared_task

from tenancy.context import ORGANIZATION, TenantContextMissing, context


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
