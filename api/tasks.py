"""Beat task: move API usage counters from Redis into ``UsageRecord`` rows once a minute."""

from __future__ import annotations

from celery import shared_task

from api.services import usage_flush


@shared_task(name="api.flush_usage", soft_time_limit=50, time_limit=58)
def flush_usage() -> int:
    """Spans organizations: ``usage_flush`` enters each organization's context itself, and a
    second run at the same time finds the batches already written (``UsageBatch``)."""
    return usage_flush()
