"""The signup pipeline benchmark's plan of applicants and its checks and figures
(``bench/signup_pipeline.py`` runs them; ``tests/signup/test_bench_smoke.py`` shows the checks
catch a lost application and a step recorded twice)."""

from __future__ import annotations

import statistics
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Durations are reported for the steps the pipeline runs; "confirmation" is the applicant's click.
TIMED_STEPS = ("email", "duplicate", "classification", "decision", "provisioning")
# Classification results that come from a call to the model (signup.decision.ClassifierState).
MODEL_RESULTS = ("classified", "invalid_output", "unreachable")
RUN_KEYS = ("start", "end", "classify_start", "classify_end")
RUN_NAMES = {"start": "pipeline", "classify_start": "classification"}

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


# --- Analysis -----------------------------------------------------------------------------


def _at(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["at"])


def no_runs() -> dict[str, list[datetime]]:
    return {key: [] for key in RUN_KEYS}


def read_task_log(path: Path) -> dict[str, dict[str, list[datetime]]]:
    """application id → {"start", "end" (the pipeline task), "classify_start", "classify_end":
    [moments]} from the workers' hooks (lines ``event time task-id application-id kind``)."""
    runs: dict[str, dict[str, list[datetime]]] = defaultdict(no_runs)
    if not path.exists():
        return runs
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0] in ("start", "end"):
            moment = datetime.fromtimestamp(float(parts[1]), tz=UTC)
            key = parts[0] if parts[4] == "pipeline" else f"classify_{parts[0]}"
            runs[parts[3]][key].append(moment)
    return runs


def expected_task_runs(steps: list[dict[str, Any]]) -> dict[str, int]:
    """The pipeline runs once, or twice around a classification that asked the model (the
    pipeline hands it to the classification task, which queues the pipeline again)."""
    asked = any(e["step"] == "classification" and e["result"] in MODEL_RESULTS for e in steps)
    return {"start": 2 if asked else 1, "classify_start": 1 if asked else 0}


def _busy_seconds(starts: list[datetime], ends: list[datetime]) -> float:
    return sum((end - start).total_seconds() for start, end in zip(starts, ends, strict=False))


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
    classify_waits: list[float] = []
    task_seconds: list[float] = []
    classify_seconds: list[float] = []
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
        runs = task_runs.get(str(application_id)) or no_runs()
        for key, count in expected_task_runs(row.steps).items():
            if len(runs[key]) != count:
                twice.append(
                    f"#{applicant.index}: {len(runs[key])} {RUN_NAMES[key]} task runs, "
                    f"expected {count}"
                )
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

        starts = [*runs["start"], *runs["classify_start"]]
        for step, seconds in step_durations(row.steps, starts).items():
            durations[step].append((seconds, applicant.index))
        if runs["start"]:
            queue_waits.append((runs["start"][0] - row.created_at).total_seconds())
            task_seconds.append(_busy_seconds(runs["start"], runs["end"]))
        if runs["classify_start"] and duplicate_entry:
            handed = _at(duplicate_entry)
            classify_waits.append((runs["classify_start"][0] - handed).total_seconds())
            classify_seconds.append(_busy_seconds(runs["classify_start"], runs["classify_end"]))
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
        "classify_wait": _distribution(classify_waits) if classify_waits else {},
        "task": _distribution(task_seconds) if task_seconds else {},
        "classify_task": _distribution(classify_seconds) if classify_seconds else {},
        "to_outcome": _distribution(to_outcome) if to_outcome else {},
    }
    return report


# --- Report -------------------------------------------------------------------------------


def rate_label(model_latency: float) -> str:
    if not model_latency:
        return "applications per second"
    return f"applications per second at {model_latency:.1f} s model latency"


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
        f"signup pipeline: {f['applications']:,} applications, fake model answering in "
        f"{f['model_latency']:g} s",
        f"  pipeline worker {f['pool']}; classification worker {f['classify_pool']}",
        f"  submitted + confirmed through the services in {f['submit_seconds']:.1f} s "
        f"({f['submitted_per_second']:.1f}/s)",
        "outcomes:",
        *(f"  {count:5d}  {outcome}" for outcome, count in f["outcomes"].items()),
        f"  duplicate-domain pairs: {f['duplicate_pairs']}, provisioned: {f['provisioned']}",
        "step durations (from each application's recorded steps):",
        *(_line(step, stats) for step, stats in f["steps"].items()),
        _line("pipeline task runs", f["task"]),
        _line("classification task", f["classify_task"]),
        _line("queue wait", f["queue_wait"]),
        _line("classification wait", f["classify_wait"]),
        _line("stored -> outcome", f["to_outcome"]),
        f"slowest step (median): {f['slowest_step']} {f['slowest_step_median_ms']:.1f} ms; "
        f"slowest single: {f['slowest_single']['step']} {f['slowest_single']['ms']:.1f} ms "
        f"(#{f['slowest_single']['application']})",
        f"none lost: {'yes' if not f['lost'] else 'NO'} ({f['final']:,}/{f['applications']:,} "
        "final)",
        f"none processed twice: {'yes' if not f['processed_twice'] else 'NO'}; "
        f"wrong outcomes: {f['wrong_outcomes']}",
        f"{rate_label(f['model_latency'])}: {f['applications_per_second']:.1f} "
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
