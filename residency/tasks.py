from __future__ import annotations

from typing import Any

from celery import shared_task

from residency.models import ACTIVE_STATES
from residency.services import LEASE, relocation_run


@shared_task(
    bind=True,
    name="residency.relocate_customer",
    acks_late=True,
    autoretry_for=(ConnectionError, OSError),
    retry_backoff=True,
    max_retries=5,
)
def relocate_customer(self: Any, *, org_id: str, relocation_id: str) -> str:
    """Steps enter their own contexts: each batch and each state change commits on its own,
    so progress is visible and an interrupted run resumes. While another runner holds the
    lease, come back when it would have expired (it may have died)."""
    relocation = relocation_run(org_id=org_id, relocation_id=relocation_id)
    if relocation.state in ACTIVE_STATES:
        raise self.retry(countdown=int(LEASE.total_seconds()))
    return str(relocation.state)
