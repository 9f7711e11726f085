"""Celery tasks of the signup pipeline.

Applications belong to no organization yet, so these tasks run without a tenant scope; the
services enter an organization's context wherever they touch one. ``acks_late`` with
``reject_on_worker_lost`` means a worker killed mid-step leaves the message to be delivered
again, and every step is idempotent, so the redelivery resumes instead of repeating.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

from signup import services

# Database hiccups (a restart, a pooler dropping a connection) are worth a retry with backoff;
# the model's failures are counted on the application instead (see services).
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


@shared_task(
    bind=True,
    name="signup.run_pipeline",
    # The model call has its own timeout (OPENAI_TIMEOUT_SECONDS, 20 s); the rest is SQL.
    soft_time_limit=120,
    time_limit=150,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def signup_pipeline_task(self: Any, application_id: str) -> str:
    try:
        return services.signup_pipeline_advance(application_id=application_id)
    except services.ClassificationDeferred as deferred:
        raise self.retry(countdown=deferred.countdown) from deferred


@shared_task(
    name="signup.sweep_stuck",
    acks_late=True,
    reject_on_worker_lost=True,
    # Beat sends one a minute: a run never overlaps the next.
    soft_time_limit=50,
    time_limit=58,
)
def signup_sweep_stuck_task() -> int:
    return len(services.signup_sweep_stuck())
