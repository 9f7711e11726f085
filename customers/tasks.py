"""Deletion tasks (SPEC §3). Each enters the tenant scope through ``tenant_task`` and is retried
with back-off until the data is gone; the services they call are idempotent."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from customers import services
from tenancy.tasks import tenant_task

RETRY = {
    "autoretry_for": (Exception,),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 12,
    # Deleting is idempotent: a purge stopped at the limit is retried and goes on.
    "soft_time_limit": 600,
    "time_limit": 660,
}


def _actor(acting_user_id: str | None) -> AbstractBaseUser | None:
    return get_user_model().objects.filter(id=acting_user_id).first() if acting_user_id else None


@tenant_task(name="customers.customer_purge", **RETRY)
def customer_purge_task(
    *, org_id: str, customer_id: str, acting_user_id: str | None = None
) -> dict[str, Any] | None:
    return services.customer_purge(
        customer_id=uuid.UUID(customer_id), acting_user=_actor(acting_user_id)
    )


@tenant_task(name="customers.organization_purge", **RETRY)
def organization_purge_task(
    *, org_id: str, acting_user_id: str | None = None
) -> dict[str, Any] | None:
    return services.organization_purge(organization_id=uuid.UUID(org_id))
