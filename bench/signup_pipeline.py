"""Signup pipeline throughput with the fake model (issues 6 and 15).

N applications go in through the service layer the signup form uses
(``signup_application_create``: the row is committed, then the confirmation email is sent and the
pipeline task enqueued on commit), each applicant confirms the emailed link at once through the
service the confirmation page uses, and real Celery worker subprocesses (``tests.celery_app``,
Redis, the local fake OpenAI-compatible server of the signup tests) run the pipeline until every
application has its outcome, provisioned where the outcome allows it. As in production (the
Procfile's ``worker`` and ``worker-llm``), the pipeline runs on a prefork worker and the
classification, which waits on the model, on a thread-pool worker with a queue of its own.

Figures: applications per second (first submission to the last outcome, from the recorded step
times), each step's median / p95 / slowest duration from the applications' recorded ``steps``,
the queue waits and the time to an outcome. Checks: none lost (every application reaches its
expected final state within the time limit) and none processed twice (every step recorded
exactly once, the pipeline task run once — twice around a classification, which runs once — at
most one model call per application, one organization and one account per provisioned
application; each deliberate duplicate-domain pair ends with exactly one organization and one
join request). A timeout or a failed check exits non-zero and says what is missing.

Run: ``python -m bench.signup_pipeline --scale full`` (``make bench``): one run with a model that
answers at once and one with a model that takes 1 s (``--model-latency 0 1.0`` is the default;
give one value for one run). The suite runs the smoke scale (``tests/signup/
test_bench_smoke.py``). It creates throwaway test databases (suffix ``_bench_signup``) and drops
them at the end. ``--pool solo`` runs the pipeline worker with one process instead of the
default prefork pool of two; ``--classify-threads 0`` leaves classification on that worker too
(the design before issue 15).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._signup_analysis import (
    PROVISIONED_STATUSES,
    Applicant,
    Report,
    analyse,
    plan,
    read_task_log,
    render,
)

REPO = Path(__file__).resolve().parent.parent

SCALES: dict[str, dict[str, int]] = {
    "smoke": {"applications": 20, "timeout_seconds": 180},
    "full": {"applications": 1_000, "timeout_seconds": 1_200},
}
POOLS: dict[str, list[str]] = {
    "solo": ["-P", "solo"],
    "prefork": ["-P", "prefork", "--concurrency", "2"],
}
CLASSIFY_THREADS = 32
# The workers keep their connections between tasks, as docs/SCALING.md advises in production:
# the prefork children persistent ones, the thread-pool worker a pool shared by its threads.
PIPELINE_WORKER_ENV = {"DATABASE_CONN_MAX_AGE": "600"}
CLASSIFY_WORKER_ENV = {"DATABASE_POOL": "true"}

TASK_KINDS = {"signup.run_pipeline": "pipeline", "signup.classify": "classify"}
TASK_LOG_ENV = "BENCH_SIGNUP_TASK_LOG"
WORKER_START_SECONDS = 90
POLL_SECONDS = 0.25


# --- The workers --------------------------------------------------------------------------


def _task_event(event: str, task_id: str, task: Any, args: Any, extra: str = "") -> None:
    path = os.environ.get(TASK_LOG_ENV)
    kind = TASK_KINDS.get(task.name)
    if not path or not args or kind is None:
        return
    # One write per line: the threads of a thread-pool worker append to the same file.
    line = f"{event} {time.time():.6f} {task_id} {args[0]} {kind} {extra}\n"
    with open(path, "a") as log:
        log.write(line)


def _task_started(*, task_id: str, task: Any, args: Any, **_: Any) -> None:
    _task_event("start", task_id, task, args)


def _task_finished(
    *, task_id: str, task: Any, args: Any, state: str | None = None, **_: Any
) -> None:
    _task_event("end", task_id, task, args, state or "")


def worker_main(celery_args: list[str]) -> int:
    """The test Celery app, plus hooks that note when each signup task starts and ends: the
    steps record when they finished, and the first one needs its start to have a duration."""
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastn_console.settings")
    from celery.signals import task_postrun, task_prerun

    from tests.celery_app import app

    task_prerun.connect(_task_started, weak=False)
    task_postrun.connect(_task_finished, weak=False)
    app.worker_main(["worker", *celery_args])
    return 0


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    queue: str
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        from tests.conftest import stop_process

        stop_process(self.process, timeout=20, group=True)


@dataclass(frozen=True)
class Queues:
    pipeline: str
    classify: str


@contextmanager
def celery_worker(
    *, name: str, queue: str, pool_args: list[str], env: dict[str, str], log_path: Path
) -> Iterator[Worker]:
    """A worker subprocess on ``queue``; stopped by its process group afterwards and its queue
    deleted, whatever happened."""
    from kombu import Exchange, Queue

    from tests.celery_app import app

    argv = [sys.executable, "-m", "bench.signup_pipeline", "--worker", *pool_args]
    argv += ["-l", "info", "-n", f"{name}@localhost", "-Q", queue]
    argv += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            argv, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = Worker(process, queue, log_path)
    try:
        deadline = time.monotonic() + WORKER_START_SECONDS
        while " ready." not in log_path.read_text(errors="replace"):
            if process.poll() is not None:
                raise RuntimeError(f"The Celery worker exited early:\n{worker.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"The Celery worker was not ready within {WORKER_START_SECONDS} s:\n"
                    f"{worker.log_tail()}"
                )
            time.sleep(0.2)
        yield worker
    finally:
        worker.stop()
        # Redis keeps a queue's bindings; deleting needs them declared in this connection first.
        with app.connection_for_write() as connection:
            bound = Queue(queue, Exchange(queue), routing_key=queue)(connection.default_channel)
            bound.declare()
            bound.delete()


@contextmanager
def celery_workers(
    *, workdir: Path, llm_base_url: str, pool: str, classify_threads: int
) -> Iterator[tuple[Queues, list[Worker], Path]]:
    """The pipeline worker and, with ``classify_threads``, the classification worker, on the
    current (test) databases and queues of their own."""
    from tests.conftest import test_database_environment

    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    pipeline_queue = f"fastn-bench-signup-{tag}"
    queues = Queues(
        pipeline_queue, f"{pipeline_queue}-classify" if classify_threads else pipeline_queue
    )
    task_log = workdir / "tasks.log"
    env = {
        **os.environ,
        **test_database_environment(),
        "CELERY_QUEUE": queues.pipeline,
        "SIGNUP_TASK_QUEUE": queues.pipeline,
        "SIGNUP_CLASSIFY_QUEUE": queues.classify,
        "OPENAI_API_KEY": "bench-key",
        "OPENAI_BASE_URL": llm_base_url,
        "OPENAI_TIMEOUT_SECONDS": "10",
        "SIGNUP_LLM_RETRY_DELAYS": "1,1",
        "EMAIL_FILE_PATH": str(workdir / "worker-mail"),
        TASK_LOG_ENV: str(task_log),
    }
    env.pop("FASTN_TEST_DB_SUFFIX", None)
    with ExitStack() as stack:
        workers = [
            stack.enter_context(
                celery_worker(
                    name=f"bench-signup-{tag}",
                    queue=queues.pipeline,
                    pool_args=POOLS[pool],
                    env={**env, **PIPELINE_WORKER_ENV},
                    log_path=workdir / "worker.log",
                )
            )
        ]
        if classify_threads:
            threads = ["-P", "threads", "--concurrency", str(classify_threads)]
            workers.append(
                stack.enter_context(
                    celery_worker(
                        name=f"bench-signup-classify-{tag}",
                        queue=queues.classify,
                        pool_args=threads,
                        env={**env, **CLASSIFY_WORKER_ENV},
                        log_path=workdir / "worker-classify.log",
                    )
                )
            )
        yield queues, workers, task_log


# --- Submitting and waiting ---------------------------------------------------------------


def submit(applicants: list[Applicant], password_hash: str) -> dict[int, uuid.UUID]:
    """Each application as the form stores it; the applicant then confirms the emailed link."""
    from django.conf import settings

    from signup import services
    from signup.models import SignupApplication

    ids: dict[int, uuid.UUID] = {}
    for applicant in applicants:
        application = services.signup_application_create(
            full_name=f"Applicant {applicant.index}",
            email=applicant.email,
            company_name=applicant.company_name,
            company_website=f"https://{applicant.domain}",
            password_hash=password_hash,
            base_url=settings.SIGNUP_PUBLIC_URL,
        )
        ids[applicant.index] = application.id
        mailed = SignupApplication.objects.filter(
            id=application.id, confirmation_sent_at__isnull=False
        ).exists()
        if mailed:
            services.signup_email_confirm(application_id=application.id)
    return ids


def unfinished(ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Applications still pending, or with an outcome that provisions and no organization."""
    from django.db.models import Q

    from signup.models import SignupApplication

    waiting = Q(status="pending") | Q(
        status__in=PROVISIONED_STATUSES, provisioned_organization__isnull=True
    )
    return list(
        SignupApplication.objects.filter(id__in=ids).filter(waiting).values_list("id", flat=True)
    )


def wait_until_final(ids: list[uuid.UUID], deadline: float) -> list[uuid.UUID]:
    """Poll until every application is final or the deadline passes; returns the unfinished."""
    remaining = list(ids)
    while remaining:
        remaining = unfinished(remaining)
        if not remaining or time.monotonic() > deadline:
            break
        time.sleep(POLL_SECONDS)
    return remaining


# --- Run ----------------------------------------------------------------------------------


def run(
    scale: str,
    *,
    pool: str = "prefork",
    timeout_seconds: float | None = None,
    model_latency: float = 0.0,
    classify_threads: int = CLASSIFY_THREADS,
) -> Report:
    """Run the pipeline for the scale's applications in already-prepared (test) databases."""
    from django.contrib.auth.hashers import make_password
    from django.test import override_settings

    from tests.signup.fake_openai import FakeOpenAI

    params = SCALES[scale]
    timeout = timeout_seconds or params["timeout_seconds"]
    tag = uuid.uuid4().hex[:6]
    applicants = plan(params["applications"], tag)
    # The form hashes each password; one hash for all keeps PBKDF2 out of the figures.
    password_hash = make_password(f"Bench-{tag}-password")
    fake = FakeOpenAI(latency_seconds=model_latency).start()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-signup-") as tmp,
            celery_workers(
                workdir=Path(tmp),
                llm_base_url=fake.base_url,
                pool=pool,
                classify_threads=classify_threads,
            ) as (queues, workers, task_log),
            override_settings(
                SIGNUP_TASK_QUEUE=queues.pipeline, SIGNUP_CLASSIFY_QUEUE=queues.classify
            ),
        ):
            started_at = datetime.now(tz=UTC)
            deadline = time.monotonic() + timeout
            submit_start = time.perf_counter()
            ids = submit(applicants, password_hash)
            submit_seconds = time.perf_counter() - submit_start
            lost = wait_until_final(list(ids.values()), deadline)
            if lost:
                # Give the workers' in-flight tasks a moment, then look once more.
                time.sleep(1)
                lost = unfinished(lost)
            report = analyse(
                applicants, ids, lost, read_task_log(task_log), Counter(fake.calls), started_at
            )
            if lost:
                report.problems.insert(
                    0, f"timed out after {timeout:g} s: {len(lost)} applications not final"
                )
                report.figures["worker_log_tail"] = "\n".join(w.log_tail() for w in workers)
    finally:
        fake.stop()
    report.figures.update(
        {
            "scale": scale,
            "model_latency": model_latency,
            "pool": " ".join(POOLS[pool]),
            "classify_pool": (
                f"-P threads --concurrency {classify_threads}"
                if classify_threads
                else "(none: the pipeline worker)"
            ),
            "submit_seconds": submit_seconds,
            "submitted_per_second": len(ids) / submit_seconds if submit_seconds else 0.0,
        }
    )
    return report


def main() -> int:
    if sys.argv[1:2] == ["--worker"]:
        return worker_main(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="smoke")
    parser.add_argument("--pool", choices=sorted(POOLS), default="prefork")
    parser.add_argument("--timeout", type=float, default=None, help="seconds (default per scale)")
    parser.add_argument(
        "--model-latency",
        type=float,
        nargs="+",
        default=[0.0, 1.0],
        help="seconds the fake model takes to answer; one run per value (default: 0 1.0)",
    )
    parser.add_argument(
        "--classify-threads",
        type=int,
        default=CLASSIFY_THREADS,
        help="threads of the classification worker (0: classify on the pipeline worker)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fastn_console.settings")
    os.environ["FASTN_TEST_DB_SUFFIX"] = "_bench_signup"
    os.environ.setdefault("FASTN_TESTING", "1")
    mail = tempfile.TemporaryDirectory(prefix="bench-signup-mail-")
    os.environ["EMAIL_FILE_PATH"] = mail.name
    import django

    django.setup()
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    from tenancy.router import owner_aliases

    config = setup_databases(verbosity=0, interactive=False, aliases=sorted(owner_aliases()))
    reports = []
    try:
        for latency in args.model_latency:
            report = run(
                args.scale,
                pool=args.pool,
                timeout_seconds=args.timeout,
                model_latency=latency,
                classify_threads=args.classify_threads,
            )
            reports.append(report)
            print(render(report), flush=True)
    finally:
        connections.close_all()
        teardown_databases(config, verbosity=0)
        mail.cleanup()
    return 0 if all(report.ok for report in reports) else 1


if __name__ == "__main__":
    raise SystemExit(main())
