from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from residency.models import ACTIVE_STATES
from residency.services import LEASE, relocation_run


@shared_task(
    bind=True,
    name="residency.relocate_customer",
    # Batches commit one by one: a run stopped at the limit resumes where it was.
    soft_time_limit=1800,
    time_limit=1860,
    acks_late=True,
    autoretry_for=(ConnectionError, OSError, SoftTimeLimitExceeded),
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
