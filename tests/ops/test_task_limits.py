"""Every task of the console names its own soft and hard time limits (SPEC §15), and a task
stopped at its hard limit cannot be delivered to a second worker while the first still runs."""

from __future__ import annotations

from celery.schedules import crontab
from django.conf import settings

from fastn_console.celery import app

CONSOLE_TASK_PREFIXES = ("signup.", "api.", "dataplane.", "residency.", "customers.", "webhooks.")


def console_tasks() -> dict[str, object]:
    app.loader.import_default_modules()
    return {
        name: task for name, task in app.tasks.items() if name.startswith(CONSOLE_TASK_PREFIXES)
    }


def test_every_console_task_is_registered() -> None:
    names = set(console_tasks())
    assert {
        "signup.run_pipeline",
        "signup.sweep_stuck",
        "api.flush_usage",
        "dataplane.run_workflow",
        "residency.relocate_customer",
        "customers.customer_purge",
        "customers.organization_purge",
    } <= names


def test_every_console_task_has_soft_and_hard_limits_below_the_visibility_timeout() -> None:
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    for name, task in console_tasks().items():
        soft, hard = getattr(task, "soft_time_limit", None), getattr(task, "time_limit", None)
        assert soft and hard, f"{name} has no time limits of its own"
        assert soft < hard, f"{name}: the soft limit must come first"
        assert hard < visibility, f"{name} could be redelivered while it still runs"


def test_beat_tasks_end_before_beat_sends_the_next() -> None:
    tasks = console_tasks()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        task, schedule = tasks[entry["task"]], entry["schedule"]
        if isinstance(schedule, crontab):
            # The only crontab entries are every minute's (schedule triggers).
            assert schedule.minute == set(range(60)) and schedule.hour == set(range(24))
            schedule = 60.0
        assert task.time_limit < schedule, entry["task"]  # type: ignore[attr-defined]


def test_publishing_is_bounded() -> None:
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["socket_timeout"] <= 2 and options["socket_connect_timeout"] <= 2
    assert options["max_retries"] == 0
    assert app.conf.task_publish_retry is False
