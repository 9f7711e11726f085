"""The Celery app the test workers run: the project's own app, plus one test-only hook.

Transactional tests flush the databases after each test, and the flush re-creates content types
and permissions under new ids. A long-lived worker would keep the old ids in Django's content
type cache, so the hook clears that cache before every task.
"""

from typing import Any

from celery.signals import task_prerun

from fastn_console.celery import app

__all__ = ["app"]


@task_prerun.connect
def _forget_content_types(**kwargs: Any) -> None:
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
