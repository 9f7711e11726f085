"""Signup pipeline throughput with the fake model (issue 6).

N applications go in through the service layer the signup form uses
(``signup_application_create``: the row is committed, then the confirmation email is sent and the
pipeline task enqueued on commit), each applicant confirms the emailed link at once through the
service the confirmation page uses, and a real Celery worker subprocess (``tests.celery_app``,
Redis, the local fake OpenAI-compatible server of the signup tests) runs the pipeline until every
application has its outcome, provisioned where the outcome allows it.

Figures: applications per second (first submission to the last outcome, from the recorded step
times), each step's median / p95 / slowest duration from the applications' recorded ``steps``,
the queue wait and the time to an outcome. Checks: none lost (every application reaches its
expected final state within the time limit) and none processed twice (every step recorded
exactly once, one task run and at most one model call per application, one organization and one
account per provisioned application; each deliberate duplicate-domain pair ends with exactly one
organization and one join request). A timeout or a failed check exits non-zero and says what is
missing.

Run: ``python -m bench.signup_pipeline --scale full`` (``make bench``); the suite runs the smoke
scale (``tests/signup/test_bench_smoke.py``). It creates throwaway test databases (suffix
``_bench_signup``) and drops them at the end. ``--pool solo`` runs the worker with one process
instead of the default prefork pool of two.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

SCALES: dict[str, dict[str, int]] = {
    "smoke": {"applications": 20, "timeout_seconds": 180},
    "full": {"applications": 1_000, "timeout_seconds": 1_200},
}
POOLS: dict[str, list[str]] = {
    "solo": ["-P", "solo"],
    "prefork": ["-P", "prefork", "--concurrency", "2"],
}

PIPELINE_TASK = "signup.run_pipeline"
TASK_LOG_ENV = "BENCH_SIGNUP_TASK_LOG"
WORKER_START_SECONDS = 90
POLL_SECONDS = 0.25
# Durations are reported for the steps the pipeline runs; "confirmation" is the applicant's click.
TIMED_STEPS = ("email", "duplicate", "classification", "decision", "provisioning")

# One pattern of 20 applicants, repeated: keywords the fake model answers by (tests/signup/
# fake_openai.py) and the outcome the decision must give them.
PATTERN = ["approve"] * 14 + [
    "moderate",
    "moderate",
    "unsure",
    "notbiz-high",
    "redflag",
    "personal",
]
EXPECTED: dict[str, tuple[str, str]] = {
    "approve": ("approved", "saas_business"),
    "moderate": ("provisional", "moderate_confidence"),
    "unsure": ("manual_review", "low_confidence"),
    "notbiz-high": ("rejected", "not_a_business"),
    "redflag": ("manual_review", "red_flags"),
    "personal": ("rejected", "personal_email_domain"),
}
PROVISIONED_STATUSES = ("approved", "provisional")
# Every 50th applicant (from the 13th) uses the domain of the one before it: the pair must end
# with one organization, and the other application rejected with a join request on it.
DUPLICATE_EVERY = 50
DUPLICATE_OFFSET = 12


@dataclass(frozen=True)
class Applicant:
    index: int
    kind: str
    company_name: str
    email: str
    domain: str
    duplicate_of: int | None = None


@dataclass
class Report:
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def plan(count: int, tag: str) -> list[Applicant]:
    """Deterministic applicants with distinct company names and domains, plus the duplicates."""
    applicants: list[Applicant] = []
    for index in range(count):
        kind = PATTERN[index % len(PATTERN)]
        if index % DUPLICATE_EVERY == DUPLICATE_OFFSET and index > 0:
            original = applicants[index - 1]
            if original.kind == "approve" and original.duplicate_of is None:
                applicants.append(
                    Applicant(
                        index,
                        "duplicate",
                        f"Bench {index:05d} approve duplicate {tag}",
                        f"second{index}@{original.domain}",
                        original.domain,
                        duplicate_of=original.index,
                    )
                )
                continue
        domain = "gmail.com" if kind == "personal" else f"bench{index:05d}-{tag}.com"
        applicants.append(
            Applicant(
                index,
                kind,
                f"Bench {index:05d} {kind} Ltd {tag}",
                f"applicant{index}.{tag}@{domain}",
                domain,
            )
        )
    return applicants


# --- The worker ---------------------------------------------------------------------------


def _task_event(event: str, task_id: str, args: Any, extra: str = "") -> None:
    path = os.environ.get(TASK_LOG_ENV)
    if not path or not args:
        return
    with open(path, "a") as log:
        log.write(f"{event} {time.time():.6f} {task_id} {args[0]} {extra}\n")


def _task_started(*, task_id: str, task: Any, args: Any, **_: Any) -> None:
    if task.name == PIPELINE_TASK:
        _task_event("start", task_id, args)


def _task_finished(
    *, task_id: str, task: Any, args: Any, state: str | None = None, **_: Any
) -> None:
    if task.name == PIPELINE_TASK:
        _task_event("end", task_id, args, state or "")


def worker_main(celery_args: list[str]) -> int:
    """The test Celery app, plus hooks that note when each pipeline task starts and ends: the
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
    task_log: Path

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        from tests.conftest import stop_process

        stop_process(self.process, timeout=20, group=True)


@contextmanager
def celery_worker(*, workdir: Path, llm_base_url: str, pool: str) -> Iterator[Worker]:
    """A worker subprocess on the current (test) databases and a queue of its own; stopped by
    its process group afterwards and its queue deleted, whatever happened."""
    from kombu import Exchange, Queue

    from tests.celery_app import app
    from tests.conftest import test_database_environment

    queue = f"fastn-bench-signup-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    log_path = workdir / "worker.log"
    task_log = workdir / "tasks.log"
    env = {
        **os.environ,
        **test_database_environment(),
        "CELERY_QUEUE": queue,
        "SIGNUP_TASK_QUEUE": queue,
        "OPENAI_API_KEY": "bench-key",
        "OPENAI_BASE_URL": llm_base_url,
        "OPENAI_TIMEOUT_SECONDS": "10",
        "SIGNUP_LLM_RETRY_DELAYS": "1,1",
        "EMAIL_FILE_PATH": str(workdir / "worker-mail"),
        TASK_LOG_ENV: str(task_log),
    }
    env.pop("FASTN_TEST_DB_SUFFIX", None)
    name = f"bench-signup-{os.getpid()}-{uuid.uuid4().hex[:6]}@localhost"
    argv = [sys.executable, "-m", "bench.signup_pipeline", "--worker", *POOLS[pool]]
    argv += ["-l", "info", "-n", name, "-Q", queue]
    argv += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            argv, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = Worker(process, queue, log_path, task_log)
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


# --- Analysis -----------------------------------------------------------------------------


def _at(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["at"])


def read_task_log(path: Path) -> dict[str, dict[str, list[datetime]]]:
    """application id → {"start": [...], "end": [...]} from the worker's hooks."""
    runs: dict[str, dict[str, list[datetime]]] = defaultdict(lambda: {"start": [], "end": []})
    if not path.exists():
        return runs
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] in ("start", "end"):
            moment = datetime.fromtimestamp(float(parts[1]), tz=UTC)
            runs[parts[3]][parts[0]].append(moment)
    return runs


def step_durations(steps: list[dict[str, Any]], task_starts: list[datetime]) -> dict[str, float]:
    """Seconds per timed step: from the latest earlier event (the task's start, the previous
    step, the applicant's confirmation) to the step's own record."""
    events = sorted([*task_starts, *(_at(entry) for entry in steps)])
    durations: dict[str, float] = {}
    for entry in steps:
        if entry["step"] not in TIMED_STEPS:
            continue
        at = _at(entry)
        earlier = [moment for moment in events if moment < at]
        if earlier:
            durations[entry["step"]] = (at - earlier[-1]).total_seconds()
    return durations


def _expected_step_counts(application: Any, duplicate_caught_early: bool) -> dict[str, int]:
    counts = {"email": 1, "duplicate": 1, "classification": 1, "decision": 1}
    counts["confirmation"] = 1 if application.confirmation_sent_at else 0
    provisioned_or_lost_race = application.status in PROVISIONED_STATUSES or (
        application.reason == "duplicate_domain" and not duplicate_caught_early
    )
    counts["provisioning"] = 1 if provisioned_or_lost_race else 0
    return counts


def _distribution(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": p95 * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def analyse(
    applicants: list[Applicant],
    ids: dict[int, uuid.UUID],
    lost: list[uuid.UUID],
    task_runs: dict[str, dict[str, list[datetime]]],
    llm_calls: Counter[str],
    started_at: datetime,
) -> Report:
    from accounts.models import User
    from customers.models import Organization
    from roles.models import JoinRequest
    from signup.models import SignupApplication
    from tenancy.context import ORGANIZATION, context

    report = Report()
    problems = report.problems
    by_id = {row.id: row for row in SignupApplication.objects.filter(id__in=ids.values())}
    index_of = {application_id: index for index, application_id in ids.items()}
    lost_set = set(lost)
    if len(ids) < len(applicants):
        problems.append(f"lost at intake: {len(applicants) - len(ids)} applications not stored")
    for lost_id in lost:
        row = by_id[lost_id]
        problems.append(
            f"lost: application #{index_of[lost_id]} ({row.email}) still {row.status}, "
            f"steps {[entry['step'] + ':' + str(entry['result']) for entry in row.steps]}"
        )

    durations: dict[str, list[tuple[float, int]]] = defaultdict(list)
    queue_waits: list[float] = []
    task_seconds: list[float] = []
    to_outcome: list[float] = []
    finished_at = started_at
    outcomes: Counter[str] = Counter()
    twice: list[str] = []
    wrong: list[str] = []
    provisioned_orgs: list[uuid.UUID] = []
    provisioned_emails: list[str] = []
    pairs: list[tuple[Applicant, Applicant]] = []
    applicant_by_index = {applicant.index: applicant for applicant in applicants}
    # The first of a duplicate pair may lose the race to provision; the pair is checked as one.
    originals = {a.duplicate_of for a in applicants if a.duplicate_of is not None}

    for applicant in applicants:
        application_id = ids.get(applicant.index)
        if application_id is None or application_id in lost_set:
            continue
        row = by_id[application_id]
        outcomes[f"{row.status} / {row.reason}"] += 1
        duplicate_entry = next((e for e in row.steps if e["step"] == "duplicate"), None)
        caught_early = bool(duplicate_entry and duplicate_entry["result"] == "duplicate_domain")
        counts = Counter(entry["step"] for entry in row.steps)
        expected = _expected_step_counts(row, caught_early)
        for step in sorted(set(counts) | set(expected)):
            if counts.get(step, 0) != expected.get(step, 0):
                twice.append(
                    f"#{applicant.index}: step {step} recorded {counts.get(step, 0)} times, "
                    f"expected {expected.get(step, 0)}"
                )
        runs = task_runs.get(str(application_id), {"start": [], "end": []})
        if len(runs["start"]) != 1:
            twice.append(f"#{applicant.index}: {len(runs['start'])} pipeline task runs")
        classified = any(
            e["step"] == "classification" and e["result"] == "classified" for e in row.steps
        )
        if llm_calls[applicant.company_name] != (1 if classified else 0):
            twice.append(
                f"#{applicant.index}: {llm_calls[applicant.company_name]} model calls "
                f"(classified: {classified})"
            )
        if applicant.kind == "duplicate":
            assert applicant.duplicate_of is not None
            pairs.append((applicant_by_index[applicant.duplicate_of], applicant))
        elif applicant.index not in originals:
            if (row.status, row.reason) != EXPECTED[applicant.kind]:
                wrong.append(
                    f"#{applicant.index} ({applicant.kind}): {row.status} / {row.reason}, "
                    f"expected {' / '.join(EXPECTED[applicant.kind])}"
                )
        if row.provisioned_organization_id is not None:
            provisioned_orgs.append(row.provisioned_organization_id)
            provisioned_emails.append(row.email)

        for step, seconds in step_durations(row.steps, runs["start"]).items():
            durations[step].append((seconds, applicant.index))
        if runs["start"]:
            queue_waits.append((runs["start"][0] - row.created_at).total_seconds())
        if runs["start"] and runs["end"]:
            task_seconds.append((runs["end"][-1] - runs["start"][0]).total_seconds())
        timed = [_at(e) for e in row.steps if e["step"] in TIMED_STEPS]
        if timed:
            finished_at = max(finished_at, max(timed))
            to_outcome.append((max(timed) - row.created_at).total_seconds())

    for original, duplicate in pairs:
        pair_ids = [ids.get(original.index), ids.get(duplicate.index)]
        if any(pair_id is None or pair_id in lost_set for pair_id in pair_ids):
            continue
        rows = [by_id[pair_id] for pair_id in pair_ids if pair_id is not None]
        winners = [row for row in rows if row.provisioned_organization_id]
        losers = [row for row in rows if row.reason == "duplicate_domain"]
        if len(winners) != 1 or len(losers) != 1:
            wrong.append(
                f"duplicate pair #{original.index}/#{duplicate.index}: "
                f"{[(row.status, row.reason) for row in rows]}, expected one provisioned and "
                "one rejected / duplicate_domain"
            )
            continue
        organization_id = winners[0].provisioned_organization_id
        with context(org_id=organization_id, role=ORGANIZATION):
            join_requests = JoinRequest.objects.filter(signup_application_id=losers[0].id).count()
        if join_requests != 1:
            twice.append(
                f"duplicate pair #{original.index}/#{duplicate.index}: {join_requests} join "
                "requests for the rejected one, expected 1"
            )

    if len(set(provisioned_orgs)) != len(provisioned_orgs):
        twice.append("two applications point at the same organization")
    organizations = Organization.objects.filter(
        email_domain__in=[a.domain for a in applicants if a.kind != "personal"]
    ).count()
    if organizations != len(provisioned_orgs):
        twice.append(
            f"{organizations} organizations on the applicants' domains for "
            f"{len(provisioned_orgs)} provisioned applications"
        )
    accounts = User.objects.filter(email__in=[a.email for a in applicants]).count()
    if accounts != len(provisioned_emails):
        twice.append(f"{accounts} accounts for {len(provisioned_emails)} provisioned applications")
    problems.extend(f"processed twice: {line}" for line in twice)
    problems.extend(f"wrong outcome: {line}" for line in wrong)

    wall = (finished_at - started_at).total_seconds()
    stats = {step: _distribution([s for s, _ in durations[step]]) for step in durations}
    slowest_typical = max(stats, key=lambda step: stats[step]["median_ms"]) if stats else ""
    slowest_single = max(
        ((seconds, step, index) for step, rows in durations.items() for seconds, index in rows),
        default=(0.0, "", -1),
    )
    report.figures = {
        "applications": len(applicants),
        "final": len(ids) - len(lost),
        "lost": len(lost) + len(applicants) - len(ids),
        "processed_twice": len(twice),
        "wrong_outcomes": len(wrong),
        "duplicate_pairs": len(pairs),
        "provisioned": len(provisioned_orgs),
        "outcomes": dict(outcomes.most_common()),
        "wall_seconds": wall,
        "applications_per_second": (len(ids) - len(lost)) / wall if wall > 0 else 0.0,
        "steps": {step: stats[step] for step in TIMED_STEPS if step in stats},
        "slowest_step": slowest_typical,
        "slowest_step_median_ms": stats[slowest_typical]["median_ms"] if stats else 0.0,
        "slowest_single": {
            "step": slowest_single[1],
            "ms": slowest_single[0] * 1000,
            "application": slowest_single[2],
        },
        "queue_wait": _distribution(queue_waits) if queue_waits else {},
        "task": _distribution(task_seconds) if task_seconds else {},
        "to_outcome": _distribution(to_outcome) if to_outcome else {},
    }
    return report


# --- Run ----------------------------------------------------------------------------------


def run(scale: str, *, pool: str = "prefork", timeout_seconds: float | None = None) -> Report:
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
    fake = FakeOpenAI().start()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="bench-signup-") as tmp,
            celery_worker(workdir=Path(tmp), llm_base_url=fake.base_url, pool=pool) as worker,
            override_settings(SIGNUP_TASK_QUEUE=worker.queue),
        ):
            started_at = datetime.now(tz=UTC)
            deadline = time.monotonic() + timeout
            submit_start = time.perf_counter()
            ids = submit(applicants, password_hash)
            submit_seconds = time.perf_counter() - submit_start
            lost = wait_until_final(list(ids.values()), deadline)
            if lost:
                # Give the worker's in-flight task a moment, then look once more.
                time.sleep(1)
                lost = unfinished(lost)
            report = analyse(
                applicants,
                ids,
                lost,
                read_task_log(worker.task_log),
                Counter(fake.calls),
                started_at,
            )
            if lost:
                report.problems.insert(
                    0, f"timed out after {timeout:g} s: {len(lost)} applications not final"
                )
                report.figures["worker_log_tail"] = worker.log_tail()
    finally:
        fake.stop()
    report.figures.update(
        {
            "scale": scale,
            "pool": " ".join(POOLS[pool]),
            "submit_seconds": submit_seconds,
            "submitted_per_second": len(ids) / submit_seconds if submit_seconds else 0.0,
        }
    )
    return report


def _line(name: str, stats: dict[str, float]) -> str:
    if not stats:
        return f"  {name:<24} -"
    return (
        f"  {name:<24} median {stats['median_ms']:8.1f} ms  p95 {stats['p95_ms']:8.1f} ms  "
        f"max {stats['max_ms']:8.1f} ms"
    )


def render(report: Report) -> str:
    f = report.figures
    lines = [
        f"signup pipeline: {f['applications']:,} applications, fake model, worker {f['pool']}",
        f"  submitted + confirmed through the services in {f['submit_seconds']:.1f} s "
        f"({f['submitted_per_second']:.1f}/s)",
        "outcomes:",
        *(f"  {count:5d}  {outcome}" for outcome, count in f["outcomes"].items()),
        f"  duplicate-domain pairs: {f['duplicate_pairs']}, provisioned: {f['provisioned']}",
        "step durations (from each application's recorded steps):",
        *(_line(step, stats) for step, stats in f["steps"].items()),
        _line("task run (all steps)", f["task"]),
        _line("queue wait", f["queue_wait"]),
        _line("stored -> outcome", f["to_outcome"]),
        f"slowest step (median): {f['slowest_step']} {f['slowest_step_median_ms']:.1f} ms; "
        f"slowest single: {f['slowest_single']['step']} {f['slowest_single']['ms']:.1f} ms "
        f"(#{f['slowest_single']['application']})",
        f"none lost: {'yes' if not f['lost'] else 'NO'} ({f['final']:,}/{f['applications']:,} "
        "final)",
        f"none processed twice: {'yes' if not f['processed_twice'] else 'NO'}; "
        f"wrong outcomes: {f['wrong_outcomes']}",
        f"applications per second: {f['applications_per_second']:.1f} "
        f"({f['final']:,} in {f['wall_seconds']:.1f} s, first submission to last outcome)",
    ]
    if report.problems:
        lines.append(f"FAILED ({len(report.problems)} problems):")
        lines.extend(f"  {problem}" for problem in report.problems[:40])
        if len(report.problems) > 40:
            lines.append(f"  ... and {len(report.problems) - 40} more")
        if f.get("worker_log_tail"):
            lines.append("worker log (tail):")
            lines.append(f["worker_log_tail"])
    return "\n".join(lines)


def main() -> int:
    if sys.argv[1:2] == ["--worker"]:
        return worker_main(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="smoke")
    parser.add_argument("--pool", choices=sorted(POOLS), default="prefork")
    parser.add_argument("--timeout", type=float, default=None, help="seconds (default per scale)")
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
    try:
        report = run(args.scale, pool=args.pool, timeout_seconds=args.timeout)
    finally:
        connections.close_all()
        teardown_databases(config, verbosity=0)
        mail.cleanup()
    print(render(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
