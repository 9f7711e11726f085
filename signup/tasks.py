"""Celery tasks of the signup pipeline.

Applications belong to no organization yet, so these tasks run without a tenant scope; the
services enter an organization's context wherever they touch one. ``acks_late`` with
``reject_on_worker_lost`` means a worker killed mid-step leaves the message to be delivered
again, and every step is idempotent, so the redelivery resumes instead of repeating.

Two queues: ``signup.run_pipeline`` (the signup queue, the prefork worker) runs every step but
the call to the model and hands that to ``signup.classify`` (``SIGNUP_CLASSIFY_QUEUE``, served
by a thread-pool worker: waiting on the network holds a thread, not a process), which queues
the pipeline again once the answer is recorded, for the decision and provisioning.
"""

from __future__ import annotations

import uuid
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from signup import services

# Database hiccups (a restart, a pooler dropping a connection) are worth a retry with backoff;
# the model's failures are counted on the application instead (see services).
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


def _pipeline_task(name: str, *, soft_time_limit: int, time_limit: int) -> Any:
    """A step task: acknowledged late, given back when its worker dies, retried on database
    hiccups."""
    return shared_task(
        bind=True,
        name=name,
        soft_time_limit=soft_time_limit,
        time_limit=time_limit,
        acks_late=True,
        reject_on_worker_lost=True,
        autoretry_for=TRANSIENT_ERRORS,
        retry_backoff=2,
        retry_backoff_max=300,
        retry_jitter=True,
        max_retries=8,
    )


def classify_queue() -> str | None:
    """Where ``signup.classify`` goes: its own queue, or the signup queue when none is set."""
    return settings.SIGNUP_CLASSIFY_QUEUE or settings.SIGNUP_TASK_QUEUE


def queue_classification(application_id: uuid.UUID | str) -> None:
    signup_classify_task.apply_async(args=[str(application_id)], queue=classify_queue())


# SQL only: the model is called by signup.classify.
@_pipeline_task("signup.run_pipeline", soft_time_limit=120, time_limit=150)
def signup_pipeline_task(self: Any, application_id: str) -> str:
    return services.signup_pipeline_advance(
        application_id=application_id, hand_off=queue_classification
    )


# Two model calls of at most OPENAI_TIMEOUT_SECONDS (20 s) and two short transactions. A thread
# pool does not enforce these limits: the client's timeout and the statement timeout bound it.
@_pipeline_task("signup.classify", soft_time_limit=90, time_limit=120)
def signup_classify_task(self: Any, application_id: str) -> None:
    try:
        services.signup_classify(application_id=application_id)
    except services.ClassificationDeferred as deferred:
        raise self.retry(countdown=deferred.countdown) from deferred
    services.signup_enqueue(application_id=application_id)


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
