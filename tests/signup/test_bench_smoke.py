"""The signup pipeline benchmark (``bench/signup_pipeline.py``) at smoke scale, and its checks.

The smoke run goes through a real worker, Redis and the fake model: every application must reach
its outcome exactly once. Timings are judged at full scale only. The checks themselves are shown
to catch a lost application and a step recorded twice, on applications run in this process.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from bench._signup_analysis import (
    TIMED_STEPS,
    Applicant,
    Report,
    analyse,
    expected_task_runs,
    plan,
    render,
)
from bench.signup_pipeline import run
from signup import services
from signup.models import SignupApplication
from tests.conftest import ALL_DATABASES
from tests.signup.fake_openai import FakeOpenAI
from tests.signup.helpers import make_application


@pytest.mark.bench
@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_smoke_run_loses_no_application_and_processes_none_twice() -> None:
    report = run("smoke")
    figures = report.figures
    assert report.ok, render(report)
    assert figures["applications"] == figures["final"] == 20
    assert figures["lost"] == 0 and figures["processed_twice"] == 0
    assert figures["duplicate_pairs"] == 1
    assert set(figures["steps"]) == set(TIMED_STEPS)
    assert figures["applications_per_second"] > 0


def _run_in_process(applicants: list[Applicant]) -> dict[int, uuid.UUID]:
    """Each applicant's pipeline and confirmation, here instead of on a worker."""
    ids = {}
    for applicant in applicants:
        application = make_application(
            applicant.company_name,
            email=applicant.email,
            company_website=f"https://{applicant.domain}",
            confirmation_sent_at=timezone.now(),
        )
        services.signup_pipeline_advance(application_id=application.id)
        services.signup_email_confirm(application_id=application.id)
        ids[applicant.index] = application.id
    return ids


def _task_runs_as_designed(ids: dict[int, uuid.UUID]) -> dict[str, dict[str, list[datetime]]]:
    """The task runs the workers would log: the pipeline, the classification between."""
    runs = {}
    for application in SignupApplication.objects.filter(id__in=ids.values()):
        start = application.created_at
        expected = expected_task_runs(application.steps)
        runs[str(application.id)] = {
            key: [start + timedelta(seconds=n) for n in range(expected[started])]
            for key, started in (
                ("start", "start"),
                ("end", "start"),
                ("classify_start", "classify_start"),
                ("classify_end", "classify_start"),
            )
        }
    return runs


def _two_applicants() -> tuple[list[Applicant], datetime]:
    """Two planned applicants, and the time before any of them applied."""
    return plan(2, uuid.uuid4().hex[:6]), datetime.now(tz=UTC)


def _analyse(
    applicants: list[Applicant],
    ids: dict[int, uuid.UUID],
    fake_openai: FakeOpenAI,
    started: datetime,
    lost: list[uuid.UUID] | None = None,
) -> Report:
    """The benchmark's checks, with the task runs of the design recorded for each."""
    return analyse(
        applicants,
        ids,
        lost or [],
        _task_runs_as_designed(ids),
        Counter(fake_openai.calls),
        started,
    )


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_checks_pass_for_applications_processed_once(
    llm_settings: Any, fake_openai: FakeOpenAI
) -> None:
    applicants, started = _two_applicants()
    ids = _run_in_process(applicants)
    report = _analyse(applicants, ids, fake_openai, started)
    assert report.ok, report.problems
    assert report.figures["provisioned"] == 2


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_checks_report_a_step_recorded_twice(llm_settings: Any, fake_openai: FakeOpenAI) -> None:
    applicants, started = _two_applicants()
    ids = _run_in_process(applicants)
    application = SignupApplication.objects.get(id=ids[1])
    classification = next(e for e in application.steps if e["step"] == "classification")
    SignupApplication.objects.filter(id=ids[1]).update(steps=[*application.steps, classification])
    report = _analyse(applicants, ids, fake_openai, started)
    assert report.problems == [
        "processed twice: #1: step classification recorded 2 times, expected 1"
    ]
    assert report.figures["processed_twice"] == 1


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_checks_report_an_unfinished_application_as_lost(
    llm_settings: Any, fake_openai: FakeOpenAI
) -> None:
    applicants, started = _two_applicants()
    ids = _run_in_process(applicants[:1])
    waiting = make_application(applicants[1].company_name, email=applicants[1].email)
    ids[1] = waiting.id
    report = _analyse(applicants, ids, fake_openai, started, lost=[waiting.id])
    assert len(report.problems) == 1
    assert report.problems[0].startswith("lost: application #1 (")
    assert report.figures["lost"] == 1 and report.figures["final"] == 1


@pytest.mark.django_db(databases=ALL_DATABASES)
@pytest.mark.usefixtures("llm_settings")
def test_checks_report_a_classification_run_twice(fake_openai: FakeOpenAI) -> None:
    planned = plan(1, uuid.uuid4().hex[:6])
    started = datetime.now(tz=UTC)
    ids = _run_in_process(planned)
    runs = _task_runs_as_designed(ids)
    runs[str(ids[0])]["classify_start"] *= 2
    report = analyse(planned, ids, [], runs, Counter(fake_openai.calls), started)
    assert report.problems == ["processed twice: #0: 2 classification task runs, expected 1"]
