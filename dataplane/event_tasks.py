"""The beat task that keeps events only as long as each organization's plan says (SPEC §11).

Like ``webhooks.sweep`` it has no tenant: it reads the organizations (readable to every context,
SPEC §5.5) and enters each one's organization-wide scope in turn, where ``events_expire``
deletes in every region database. Listed in ``CELERY_IMPORTS`` (autodiscovery finds only
``tasks`` modules).
"""

from __future__ import annotations

from celery import shared_task

from customers.models import Organization
from dataplane.events import events_expire
from tenancy.context import ORGANIZATION, context


# Hourly; a sweep cut short leaves the rest to the next one.
@shared_task(name="dataplane.expire_events", acks_late=True, soft_time_limit=600, time_limit=660)
def expire_events_task() -> int:
    deleted = 0
    for org_id in list(Organization.objects.live().values_list("id", flat=True)):
        with context(org_id=org_id, role=ORGANIZATION):
            organization = Organization.objects.select_related("plan").get(id=org_id)
            deleted += events_expire(organization=organization)
    return deleted
