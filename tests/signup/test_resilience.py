"""Nothing is lost when Redis, the worker or the model is down (SPEC §8): the row is committed
first, a failed enqueue is swallowed and logged, the beat sweep enqueues stuck applications,
and a worker killed mid-step leaves the task to be redelivered and resumed."""

from __future__ import annotations

import logging
import os
import signal
import time
from datetime import timedelta

import psutil
import pytest
from django.test import Client
from django.utils import timezone

from signup import services
from signup.models import SignupApplication, SignupStatus
from signup.tasks import signup_pipeline_task, signup_sweep_stuck_task
from tests.brokers import cache_settings, celery_broker, free_port, redis_server
from tests.conftest import ALL_DATABASES
from tests.signup.conftest import start_worker
from tests.signup.helpers import decided, form_data, make_application, step_entries, wait_for

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


def _backdate(*applications: SignupApplication, minutes: int = 30) -> None:
    past = timezone.now() - timedelta(minutes=minutes)
    SignupApplication.objects.filter(id__in=[a.id for a in applications]).update(
        created_at=past, updated_at=past, last_enqueued_at=None
    )


def test_beat_schedule_runs_the_sweep(settings) -> None:
    from fastn_console.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["signup-sweep-stuck"]
    assert entry["task"] == "signup.sweep_stuck" and entry["task"] in app.tasks
    assert entry["schedule"] <= settings.SIGNUP_STUCK_AFTER_SECONDS


def test_sweep_enqueues_only_stuck_applications(pipeline) -> None:
    stuck = make_application("Approve Stuck Co")
    fresh = make_application("Approve Fresh Co")
    recently_queued = make_application("Approve Queued Co")
    _backdate(stuck, recently_queued)
    SignupApplication.objects.filter(id=recently_queued.id).update(last_enqueued_at=timezone.now())
    finished = make_application("Approve Done Co", status=SignupStatus.MANUAL_REVIEW)
    _backdate(finished)

    assert signup_sweep_stuck_task() == 1
    assert wait_for(stuck.id, decided).status == SignupStatus.APPROVED
    time.sleep(1)
    assert SignupApplication.objects.get(id=fresh.id).status == SignupStatus.PENDING
    assert SignupApplication.objects.get(id=recently_queued.id).status == SignupStatus.PENDING


def test_sweep_provisions_confirmed_applications_left_behind(pipeline) -> None:
    application = make_application(
        "Approve Left Behind Co", status=SignupStatus.APPROVED, email_confirmed_at=timezone.now()
    )
    application.email_domain = application.email.split("@")[1]
    application.save()
    _backdate(application)
    assert services.signup_sweep_stuck() == [application.id]
    wait_for(application.id, lambda a: a.provisioned_organization_id is not None)


def test_sweep_sends_confirmations_that_never_went_out(settings, mailoutbox) -> None:
    application = make_application("Approve Unsent Co")
    _backdate(application)
    settings.SIGNUP_TASK_QUEUE = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-unconsumed"
    with celery_broker(f"redis://127.0.0.1:{free_port()}/0"):
        services.signup_sweep_stuck()
    assert [m.to for m in mailoutbox] == [[application.email]]
    application.refresh_from_db()
    assert application.confirmation_sent_at is not None


def test_signup_survives_redis_going_down_mid_run(pipeline, tmp_path, caplog, mailoutbox) -> None:
    caplog.set_level(logging.ERROR, logger="signup.services")
    client = Client()
    with redis_server(tmp_path) as (url, process), celery_broker(url):
        before = form_data("Approve Before Outage Co")
        assert client.post("/signup/", before).status_code == 302
        process.terminate()
        process.wait(timeout=10)
        during = form_data("Approve During Outage Co")
        started = time.monotonic()
        response = client.post("/signup/", during)
        assert time.monotonic() - started < 10
    assert response.status_code == 302
    lost_message = SignupApplication.objects.get(email=before["email"])
    unqueued = SignupApplication.objects.get(email=during["email"])
    assert lost_message.last_enqueued_at is not None  # went to the Redis that died
    assert unqueued.last_enqueued_at is None
    assert "Could not enqueue signup application" in caplog.text
    assert client.get(response["Location"]).status_code == 200
    assert {m.to[0] for m in mailoutbox} == {before["email"], during["email"]}

    _backdate(lost_message, unqueued)
    assert set(services.signup_sweep_stuck()) == {lost_message.id, unqueued.id}
    for application in (lost_message, unqueued):
        assert wait_for(application.id, decided).status == SignupStatus.APPROVED


def test_signup_is_answered_within_five_seconds_while_redis_is_frozen(
    pipeline, tmp_path, settings, caplog, mailoutbox
) -> None:
    """A frozen Redis accepts connections and never answers: the throttles and the broker
    publish each give up at their timeout, the applicant sees success, and the sweep queues the
    application once Redis is back."""
    caplog.set_level(logging.WARNING)
    client = Client()
    data = form_data("Approve Frozen Redis Co")
    with redis_server(tmp_path) as (url, process), celery_broker(url):
        settings.CACHES = cache_settings(url)
        os.kill(process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            response = client.post("/signup/", data)
            elapsed = time.monotonic() - started
        finally:
            os.kill(process.pid, signal.SIGCONT)
    assert response.status_code == 302, response.content[:500]
    assert elapsed <= 5, f"the signup took {elapsed:.1f} s"
    assert "Could not enqueue signup application" in caplog.text
    assert "the cache is unreachable" in caplog.text
    application = SignupApplication.objects.get(email=data["email"])
    assert application.last_enqueued_at is None
    assert client.get(response["Location"]).status_code == 200

    _backdate(application)
    assert application.id in services.signup_sweep_stuck()
    assert wait_for(application.id, decided).status == SignupStatus.APPROVED


def test_running_the_task_twice_changes_nothing(pipeline, fake_openai) -> None:
    application = make_application("Approve Redelivered Co")
    signup_pipeline_task.apply_async(args=[str(application.id)], queue=pipeline.queue)
    first = wait_for(application.id, decided)
    signup_pipeline_task.apply_async(args=[str(application.id)], queue=pipeline.queue)
    signup_pipeline_task.apply_async(args=[str(application.id)], queue=pipeline.queue)
    time.sleep(2)
    again = SignupApplication.objects.get(id=application.id)
    assert again.steps == first.steps
    assert fake_openai.calls_for("Approve Redelivered Co") == 1


def test_worker_killed_mid_step_is_resumed_by_another(fake_openai, llm_settings, tmp_path) -> None:
    application = make_application("Hold Killed Worker Co")
    queue = f"signup-kill-{application.id.hex[:8]}"
    with redis_server(tmp_path) as (url, _process):
        extra = {"REDIS_URL": url, "CELERY_VISIBILITY_TIMEOUT": "2"}
        first = start_worker(queue=queue, workdir=tmp_path / "a", fake=fake_openai, extra_env=extra)
        try:
            from kombu import Connection

            with Connection(url) as connection:
                signup_pipeline_task.apply_async(
                    args=[str(application.id)], queue=queue, connection=connection
                )
            assert fake_openai.holding.wait(timeout=30), first.log()
            first.kill()
        finally:
            first.stop()
        fake_openai.release.set()
        # The message becomes visible again once it has been unacknowledged for longer than the
        # visibility timeout; the next worker restores it when it starts polling.
        time.sleep(3)
        interrupted = SignupApplication.objects.get(id=application.id)
        assert [e["step"] for e in interrupted.steps] == ["email", "duplicate"]
        assert interrupted.status == SignupStatus.PENDING

        second = start_worker(
            queue=queue, workdir=tmp_path / "b", fake=fake_openai, extra_env=extra
        )
        try:
            resumed = wait_for(application.id, decided, timeout=60, what="the redelivery")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nworker log:\n{second.log()}") from None
        finally:
            second.stop()
    assert resumed.status == SignupStatus.APPROVED
    assert [e["step"] for e in resumed.steps] == [
        "email",
        "duplicate",
        "classification",
        "decision",
    ]
    assert len(step_entries(resumed, "classification")) == 1
    assert fake_openai.calls_for("Hold Killed Worker Co") == 2


def test_worker_child_killed_mid_task_is_redelivered_and_completed_once(
    fake_openai, llm_settings, tmp_path
) -> None:
    """A prefork worker whose child dies mid-task (the kernel's OOM killer, say) gives the
    message back (``reject_on_worker_lost``); its next child runs it to the end, once."""
    application = make_application("Hold Killed Child Co")
    queue = f"signup-child-{application.id.hex[:8]}"
    worker = start_worker(queue=queue, workdir=tmp_path, fake=fake_openai, pool="prefork")
    try:
        fake_openai.release.clear()
        fake_openai.holding.clear()
        signup_pipeline_task.apply_async(args=[str(application.id)], queue=queue)
        assert fake_openai.holding.wait(timeout=30), worker.log()
        children = psutil.Process(worker.process.pid).children()
        assert len(children) == 1, children
        children[0].kill()
        fake_openai.release.set()
        resumed = wait_for(application.id, decided, timeout=60, what="the redelivery")
        assert psutil.Process(worker.process.pid).is_running()  # the worker itself lived on
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nworker log:\n{worker.log()}") from None
    finally:
        worker.stop()
    assert "WorkerLostError" in worker.log() or "exited prematurely" in worker.log()
    assert resumed.status == SignupStatus.APPROVED
    assert len(step_entries(resumed, "classification")) == 1
    assert len(step_entries(resumed, "decision")) == 1
    assert fake_openai.calls_for("Hold Killed Child Co") == 2
