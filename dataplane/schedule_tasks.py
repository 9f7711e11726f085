"""The beat task of schedule triggers (SPEC §11 "Triggers"): at the start of every minute
(``crontab()`` on Celery beat), queue the prod runs that schedules name for that minute, in
UTC (``dataplane.services.triggers``).

Like ``dataplane.event_tasks`` it has no tenant: it reads the organizations (readable to every
context, SPEC §5.5), asks each one's organization-wide scope which workflows are due, and queues
each in its customer's own scope and transaction, so one customer's failure leaves the others'
runs queued. A run is unique per workflow and minute: a redelivered task, or a second beat, for
the same minute queues nothing more. Listed in ``CELERY_IMPORTS``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from celery import shared_task

from customers.models import Customer, Organization
from dataplane.services.triggers import scheduled_run_queue, scheduled_workflows_due
from tenancy.context import CUSTOMER, ORGANIZATION, context

logger = logging.getLogger(__name__)


@shared_task(name="dataplane.run_schedules", acks_late=True, soft_time_limit=40, time_limit=50)
def run_schedules_task(tick: str = "") -> int:
    """Queue the runs due at ``tick`` (ISO 8601; the current minute when empty); returns how
    many were queued."""
    moment = datetime.fromisoformat(tick) if tick else datetime.now(UTC)
    minute = moment.astimezone(UTC).replace(second=0, microsecond=0)
    queued = 0
    for org_id in list(Organization.objects.live().values_list("id", flat=True)):
        with context(org_id=org_id, role=ORGANIZATION):
            organization = Organization.objects.get(id=org_id)
            due = scheduled_workflows_due(tick=minute)
        for run in due:
            try:
                with context(org_id=org_id, customer_id=run.customer_id, role=CUSTOMER):
                    customer = Customer.objects.get(id=run.customer_id)
                    execution = scheduled_run_queue(
                        organization=organization, customer=customer, due=run, tick=minute
                    )
            except Exception:
                logger.exception("A scheduled run could not be queued")
                continue
            queued += execution is not None
    return queued
