"""Step bookkeeping shared by every stage of the pipeline: step names, recorded results, the lock.

A step's entries are appended to ``SignupApplication.steps``; the latest entry of a step says
whether it is done and with which result.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import router
from django.utils import timezone

from signup.models import SignupApplication

STEP_EMAIL = "email"
STEP_DUPLICATE = "duplicate"
STEP_CLASSIFICATION = "classification"
STEP_DECISION = "decision"
STEP_PROVISIONING = "provisioning"
STEP_CONFIRMATION = "confirmation"
STEP_STAFF_REVIEW = "staff_review"
PIPELINE_STEPS = (STEP_EMAIL, STEP_DUPLICATE, STEP_CLASSIFICATION, STEP_DECISION, STEP_PROVISIONING)

SKIPPED = "skipped"
RETRYING = "retrying"
RERUN_REQUESTED = "rerun_requested"
PROVISIONED = "provisioned"
DUPLICATE = "duplicate_domain"
NO_DUPLICATE = "none"


def latest_step(application: SignupApplication, step: str) -> dict[str, Any] | None:
    for entry in reversed(application.steps):
        if entry.get("step") == step:
            return dict(entry)
    return None


def step_done(application: SignupApplication, step: str) -> bool:
    entry = latest_step(application, step)
    return bool(entry and entry.get("done"))


def step_result(application: SignupApplication, step: str) -> str | None:
    entry = latest_step(application, step)
    return str(entry["result"]) if entry and entry.get("done") else None


def record_step(
    application: SignupApplication,
    step: str,
    result: str,
    *,
    error: str = "",
    done: bool = True,
    **detail: Any,
) -> None:
    """Append the step's result; the caller saves it in the same transaction as its effect."""
    entry = {
        "step": step,
        "result": result,
        "at": timezone.now().isoformat(),
        "error": error[:1000],
        "done": done,
        **detail,
    }
    application.steps = [*application.steps, entry]


def db_alias() -> str:
    """The database alias of applications in the current scope (``platform`` in the admin)."""
    return str(router.db_for_write(SignupApplication))


def lock_application(application_id: uuid.UUID | str) -> SignupApplication:
    return SignupApplication.objects.select_for_update().get(id=application_id)
