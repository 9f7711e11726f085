"""The webhooks tasks as the services send them: by name, because ``webhooks.tasks`` imports
the services (the names are the tasks' own, ``webhooks/tasks.py`` registers them under these)."""

from __future__ import annotations

from celery import signature

DISPATCH_EVENT = "webhooks.dispatch_event"
DELIVER = "webhooks.deliver"
LIMIT_NOTICE_EMAIL = "webhooks.limit_notice_email"

dispatch_event = signature(DISPATCH_EVENT)
deliver = signature(DELIVER)
limit_notice_email = signature(LIMIT_NOTICE_EMAIL)
