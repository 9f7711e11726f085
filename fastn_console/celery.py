"""The Celery application. Workers refuse to start when row-level security is not in force, and
a task's log lines keep the request, organization and customer of its sender
(``fastn_console.logcontext``)."""

import os
from typing import Any

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_init

from fastn_console import logcontext

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastn_console.settings")

app = Celery("fastn_console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

before_task_publish.connect(logcontext.add_sender_fields, weak=False)
task_prerun.connect(logcontext.restore_sender_fields, weak=False)
task_postrun.connect(logcontext.forget_sender_fields, weak=False)


@worker_init.connect
def check_isolation(**kwargs: Any) -> None:
    # Imported when the worker starts: this module is loaded before Django's app registry.
    from tenancy.checks import run_startup_check

    run_startup_check()
