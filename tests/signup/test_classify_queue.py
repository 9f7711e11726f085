"""Classification apart from the pipeline (issue 15): the pipeline hands the call to the model to
``signup.classify`` on a queue of its own, served by a thread-pool worker; two classifications
of one application at once store one result, and a waiting thread holds no database
connection."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connections

from signup import services
from signup.models import SignupStatus
from signup.services import signup_enqueue
from tests.conftest import ALL_DATABASES
from tests.signup.conftest import Worker, start_worker
from tests.signup.helpers import decided, make_application, step_entries, wait_for

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


def _own_connections() -> int:
    """Connections of this login to this database, besides the asking one."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND usename = current_user AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def test_the_pipeline_hands_classification_off_and_resumes_after_it(llm_settings) -> None:
    application = make_application("Approve Handed Off Co")
    handed: list[uuid.UUID | str] = []
    status = services.signup_pipeline_advance(application_id=application.id, hand_off=handed.append)
    assert status == SignupStatus.PENDING and handed == [application.id]
    application.refresh_from_db()
    assert [e["step"] for e in application.steps] == ["email", "duplicate"]

    services.signup_classify(application_id=application.id)
    status = services.signup_pipeline_advance(application_id=application.id, hand_off=handed.append)
    assert status == SignupStatus.APPROVED and handed == [application.id]
    application.refresh_from_db()
    assert [e["step"] for e in application.steps] == [
        "email",
        "duplicate",
        "classification",
        "decision",
    ]


def test_two_classifications_at_once_store_one_result(llm_settings, fake_openai) -> None:
    company = "Hold Classified Twice Co"
    application = make_application(company)
    services.signup_pipeline_advance(application_id=application.id, hand_off=lambda _id: None)
    before = _own_connections()
    fake_openai.release.clear()
    fake_openai.holding.clear()
    errors: list[BaseException] = []

    def classify() -> None:
        try:
            services.signup_classify(application_id=application.id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=classify) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while fake_openai.calls_for(company) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake_openai.calls_for(company) == 2, "both runs should be waiting on the model"
        # Both threads wait on the model; neither holds a connection meanwhile.
        assert _own_connections() <= before
    finally:
        fake_openai.release.set()
        for thread in threads:
            thread.join(timeout=30)
        # The fake is shared by the session: leave it as it started, holding nobody.
        fake_openai.release.clear()
        fake_openai.holding.clear()
    assert not errors
    application.refresh_from_db()
    entries = step_entries(application, "classification")
    assert len(entries) == 1 and entries[0]["result"] == "classified"
    assert application.classification is not None
    assert application.status == SignupStatus.PENDING  # the decision is the pipeline's


def test_classification_runs_on_the_thread_pool_worker_of_its_queue(
    llm_settings, fake_openai, tmp_path
) -> None:
    application = make_application("Approve Thread Pool Co")
    queue = f"signup-split-{application.id.hex[:8]}"
    classify_queue = f"{queue}-classify"
    # Both workers share the configuration, as in production: only their -Q differs.
    extra = {"SIGNUP_TASK_QUEUE": queue, "SIGNUP_CLASSIFY_QUEUE": classify_queue}
    pipeline = start_worker(queue=queue, workdir=tmp_path / "p", fake=fake_openai, extra_env=extra)
    classifier = start_worker(
        queue=classify_queue,
        workdir=tmp_path / "c",
        fake=fake_openai,
        extra_env=extra,
        pool="threads",
    )
    try:
        llm_settings.SIGNUP_TASK_QUEUE = queue
        assert signup_enqueue(application_id=application.id)
        result = wait_for(application.id, decided, timeout=60, what="the outcome")
    finally:
        pipeline.stop()
        classifier.stop()
    assert result.status == SignupStatus.APPROVED
    assert len(step_entries(result, "classification")) == 1
    assert _received(classifier, "signup.classify") == 1
    assert _received(classifier, "signup.run_pipeline") == 0
    assert _received(pipeline, "signup.classify") == 0
    assert _received(pipeline, "signup.run_pipeline") == 2  # before and after classification


def _received(worker: Worker, task: str) -> int:
    return sum(1 for line in worker.log().splitlines() if f"{task}[" in line and "received" in line)
