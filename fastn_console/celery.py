"""The Celery application. Workers refuse to start when row-level security is not in force, and
a task's log lines keep the request, organization and customer of its sender
(``fastn_console.logcontext``)."""

import os
from typing import Any

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_init
from django.db import close_old_connections

from fastn_console import logcontext

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastn_console.settings")

app = Celery("fastn_console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

before_task_publish.connect(logcontext.add_sender_fields, weak=False)
task_prerun.connect(logcontext.restore_sender_fields, weak=False)
task_postrun.connect(logcontext.forget_sender_fields, weak=False)


@task_prerun.connect
@task_postrun.connect
def recycle_connections(sender: Any = None, **kwargs: Any) -> None:
    """Around each task, what Django does around each request: close the connections that are
    broken or older than CONN_MAX_AGE (all of them at 0), give pooled ones back to the pool.
    In a thread pool the connections are the running thread's own (CELERY_DB_REUSE_MAX)."""
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()


@worker_init.connect
def check_isolation(**kwargs: Any) -> None:
    # Imported when the worker starts: this module is loaded before Django's app registry.
    from tenancy.checks import run_startup_check

    run_startup_check()
