"""The Celery app the test workers run: the project's own app, plus one test-only hook.

Transactional tests flush the databases after each test, and the flush re-creates content types
and permissions under new ids. A long-lived worker would keep the old ids in Django's content
type cache, so the hook clears that cache before every task.
"""

import logging
from typing import Any

from celery.signals import task_prerun

from fastn_console.celery import app
from tenancy.tasks import tenant_task

__all__ = ["app", "log_probe"]


@task_prerun.connect
def _forget_content_types(**kwargs: Any) -> None:
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()


@tenant_task(name="tests.log_probe", soft_time_limit=10, time_limit=15)
def log_probe(*, org_id: str, customer_id: str | None = None) -> str:
    """Writes one line inside the task's tenant scope (tests/ops/test_logging.py)."""
    logging.getLogger("tests.log_probe").info("probe ran")
    return "ok"
