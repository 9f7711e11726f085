"""Helpers shared by the signup tests."""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib.auth.hashers import make_password

from signup.models import SignupApplication

PASSWORD = "Correct-Horse-42-battery"
_seq = itertools.count(1)


def unique_domain(stem: str = "acme") -> str:
    return f"{stem}{next(_seq)}-{uuid.uuid4().hex[:6]}.com"


def make_application(
    company: str = "Approve Co", *, email: str | None = None, **fields: Any
) -> SignupApplication:
    """An application row as the form stores it, without enqueueing anything."""
    return SignupApplication.objects.create(
        full_name=fields.pop("full_name", "Jo Smith"),
        email=email or f"jo@{unique_domain()}",
        company_name=company,
        company_website=fields.pop("company_website", "https://example.com"),
        password_hash=fields.pop("password_hash", make_password(PASSWORD)),
        **fields,
    )


def form_data(company: str, *, email: str | None = None, **extra: str) -> dict[str, str]:
    return {
        "full_name": "Jo Smith",
        "email": f"jo@{unique_domain()}" if email is None else email,
        "company_name": company,
        "company_website": "https://example.com",
        "password": PASSWORD,
        **extra,
    }


def wait_for(
    application_id: Any,
    predicate: Callable[[SignupApplication], bool],
    *,
    timeout: float = 30.0,
    what: str = "the condition",
) -> SignupApplication:
    deadline = time.monotonic() + timeout
    application = SignupApplication.objects.get(id=application_id)
    while time.monotonic() < deadline:
        application = SignupApplication.objects.get(id=application_id)
        if predicate(application):
            return application
        time.sleep(0.1)
    raise AssertionError(
        f"Timed out waiting for {what}: status={application.status} steps={application.steps}"
    )


def decided(application: SignupApplication) -> bool:
    return application.status != "pending"


def confirmation_link(mailoutbox: list[Any], email: str) -> str:
    message = next(m for m in reversed(mailoutbox) if email in m.to)
    match = re.search(r"https?://[^/\s]+(/signup/confirm/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def step_entries(application: SignupApplication, step: str) -> list[dict[str, Any]]:
    return [entry for entry in application.steps if entry["step"] == step]
