"""Webhook tasks: fan-out, one task per delivery attempt, limit-notice emails, the beat sweep.

``deliver_task`` enters the organization's context twice instead of using ``tenant_task``'s
single scope, for the reason ``dataplane/tasks.py`` gives: ``tenant_task`` would hold one
transaction open across the HTTP call, and no outbound call runs inside a transaction. Like
``tenant_task``, a call without its ids raises instead of running unscoped.

``sweep_task`` has no tenant: it reads the organizations (readable to every context, SPEC §5.5)
and enters each one's scope in turn.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from customers.models import Organization
from tenancy.context import ORGANIZATION, TenantContextMissing, context
from tenancy.tasks import tenant_task
from webhooks import queued, services


@tenant_task(name=queued.DISPATCH_EVENT, acks_late=True, soft_time_limit=30, time_limit=40)
def dispatch_event_task(*, org_id: str, event_id: str, **_: Any) -> int:
    return len(services.webhook_event_dispatch(event_id=event_id))


# One call of at most WEBHOOK_TIMEOUT_SECONDS (60 s at most, 15 s by default) plus two short
# transactions; a worker stopped mid-call leaves the lease, which expires, and the sweep retries.
@shared_task(name=queued.DELIVER, acks_late=True, soft_time_limit=90, time_limit=100)
def deliver_task(*, org_id: str, delivery_id: str, **_: Any) -> str:
    if not org_id:
        raise TenantContextMissing("deliver needs org_id=.")
    with context(org_id=org_id, role=ORGANIZATION):
        planned = services.delivery_attempt_begin(delivery_id=delivery_id)
    if planned is None:
        return "skipped"
    result = services.delivery_attempt_send(planned)
    with context(org_id=org_id, role=ORGANIZATION):
        return services.delivery_attempt_finish(planned=planned, result=result)


@tenant_task(name=queued.LIMIT_NOTICE_EMAIL, acks_late=True, soft_time_limit=60, time_limit=75)
def limit_notice_email_task(*, org_id: str, notice_id: str, **_: Any) -> int:
    return services.limit_notice_email(notice_id=notice_id)


# Ends before beat sends the next (every 60 s); an unfinished sweep is taken up by the next.
@shared_task(name="webhooks.sweep", acks_late=True, soft_time_limit=45, time_limit=55)
def sweep_task() -> int:
    queued = 0
    for org_id in list(Organization.objects.live().values_list("id", flat=True)):
        with context(org_id=org_id, role=ORGANIZATION):
            queued += services.webhooks_sweep_organization()
    return queued
