from __future__ import annotations

from typing import Any

from celery import shared_task

from residency.services import relocation_run


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
    so progress is visible and an interrupted run resumes."""
    return relocation_run(org_id=org_id, relocation_id=relocation_id).state
