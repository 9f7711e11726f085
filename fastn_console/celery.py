"""The Celery application. Workers refuse to start when row-level security is not in force."""

import os
from typing import Any

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastn_console.settings")

app = Celery("fastn_console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def check_isolation(**kwargs: Any) -> None:
    # Imported when the worker starts: this module is loaded before Django's app registry.
    from tenancy.checks import run_startup_check

    run_startup_check()
