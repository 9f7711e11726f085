"""Deletion tasks (SPEC §3) and the customer import (SPEC §13).

Deletion tasks enter the tenant scope through ``tenant_task`` and are retried with back-off until
the data is gone; the services they call are idempotent. The import enters a scope of its own
for each chunk (so each chunk commits and the page sees the progress) and resumes where the
last committed chunk left off when it is retried."""

from __future__ import annotations

import uuid
from typing import Any

from celery import shared_task
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from customers import services
from customers.services.imports import CUSTOMER_IMPORT_TASK
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


@shared_task(
    bind=True,
    name=CUSTOMER_IMPORT_TASK,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
    # Chunks commit one by one: a run stopped at the limit is retried and goes on.
    soft_time_limit=1800,
    time_limit=1860,
)
def customer_import_task(
    self: Any, *, org_id: str, import_id: str, acting_user_id: str | None = None
) -> str:
    try:
        return services.customer_import_run(
            org_id=org_id, import_id=import_id, acting_user_id=acting_user_id
        )
    except Exception as exc:  # recorded for the page, then retried (autoretry_for)
        services.customer_import_record_error(
            org_id=org_id,
            import_id=import_id,
            error=f"{exc.__class__.__name__}: {exc}",
            final=self.request.retries >= self.max_retries,
        )
        raise
