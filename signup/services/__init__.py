"""Writes of the signup pipeline (SPEC §8).

Every step locks the application row (``select_for_update``), returns at once when the step is
already recorded as done, and records its result (step, result, time, error) in
``SignupApplication.steps`` in the same transaction as its effect. A step run twice therefore
changes nothing, and a task redelivered after a killed worker resumes where the last commit left
off. The slow call to the model happens outside any lock.

Applications are platform-level rows (no organization, no row-level security). Effects inside an
organization — a join request, the new organization, audit rows — enter that organization's
``tenancy.context``; the staff admin's decisions run in the platform scope and write to the
organization there.

One module per concern. Callers import the services from here; step names and results (which the
status page reads) come from ``signup.services.steps``.

- ``steps``: step names, recorded results, the row lock;
- ``intake``: the application, the confirmation email and link, queueing the pipeline;
- ``pipeline``: the email, duplicate, classification and decision steps (classification, which
  waits on the model, can run apart: ``signup_classify``);
- ``provisioning``: the account and organization, or a join request on the domain's holder;
- ``sweep``: the beat job that re-queues stuck applications;
- ``review``: the staff admin's approve, reject and re-run.
"""

from signup.services.intake import (
    application_id_from_token,
    confirmation_token,
    signup_application_create,
    signup_confirmation_resend,
    signup_confirmation_send,
    signup_email_confirm,
    signup_enqueue,
)
from signup.services.pipeline import (
    ClassificationDeferred,
    signup_classify,
    signup_pipeline_advance,
)
from signup.services.provisioning import signup_provision
from signup.services.review import (
    SignupActionRefused,
    signup_application_approve,
    signup_application_reject,
    signup_application_rerun_classification,
)
from signup.services.sweep import signup_sweep_stuck

__all__ = [
    "ClassificationDeferred",
    "SignupActionRefused",
    "application_id_from_token",
    "confirmation_token",
    "signup_application_approve",
    "signup_application_create",
    "signup_application_reject",
    "signup_application_rerun_classification",
    "signup_classify",
    "signup_confirmation_resend",
    "signup_confirmation_send",
    "signup_email_confirm",
    "signup_enqueue",
    "signup_pipeline_advance",
    "signup_provision",
    "signup_sweep_stuck",
]
