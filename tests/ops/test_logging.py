"""Every log line names its request, organization and customer, in web and worker alike; with
LOG_FORMAT=json each line is one JSON object (SPEC §15)."""

from __future__ import annotations

import io
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from pythonjsonlogger.json import JsonFormatter

from fastn_console.logcontext import ContextFilter, bind, unbind
from tenancy.context import ORGANIZATION, context
from tenancy.tasks import publish
from tests import conftest as suite
from tests.celery_app import log_probe
from tests.conftest import ALL_DATABASES, start_celery_worker, stop_process
from tests.factories import client_for, make_customer, make_org


@contextmanager
def json_lines() -> Iterator[list[dict[str, Any]]]:
    """The root logger's lines, formatted as LOG_FORMAT=json formats them, while the block runs."""
    options = {k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"}
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(**options))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_console_request_logs_its_request_id_organization_and_customer() -> None:
    org = make_org("Acme")
    customer = make_customer(org, "Northwind", region="eu")
    owner = client_for(org.owner)
    path = f"/o/{org.slug}/customers/{customer.id}/"
    with json_lines() as lines:
        response = owner.get(path, headers={"X-Request-ID": "req-from-the-proxy-42"})
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-from-the-proxy-42"
    request_lines = [line for line in lines if line["logger"] == "fastn_console.requests"]
    assert len(request_lines) == 1
    line = request_lines[0]
    assert line["message"].startswith(f"GET {path} 200 ")
    assert line["request_id"] == "req-from-the-proxy-42"
    assert line["org_id"] == str(org.id)
    assert line["customer_id"] == str(customer.id)
    assert line["level"] == "INFO" and "time" in line


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_request_id_that_is_not_a_plain_token_is_replaced() -> None:
    org = make_org("Acme")
    owner = client_for(org.owner)
    with json_lines() as lines:
        response = owner.get(
            f"/o/{org.slug}/settings/customers/", headers={"X-Request-ID": "a b\r\nc"}
        )
    request_id = response["X-Request-ID"]
    assert request_id != "a b\r\nc" and len(request_id) == 32
    assert [line["request_id"] for line in lines if line["logger"] == "fastn_console.requests"] == [
        request_id
    ]
    assert all(line["customer_id"] == "-" for line in lines)


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_lines_outside_any_request_or_scope_carry_placeholders() -> None:
    with json_lines() as lines:
        logging.getLogger("tests.ops").warning("no request here")
    assert lines[0]["request_id"] == lines[0]["org_id"] == lines[0]["customer_id"] == "-"


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_a_worker_keeps_the_fields_of_the_request_that_sent_the_task(tmp_path) -> None:
    org = make_org("Acme")
    customer = make_customer(org, "Northwind", region="eu")
    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-logging-{uuid.uuid4().hex[:6]}"
    log_path = tmp_path / "worker.log"
    worker = start_celery_worker(
        name=f"logging-{os.getpid()}@localhost",
        queue=queue,
        env={**os.environ, **suite.test_database_environment(), "LOG_FORMAT": "json"},
        log_path=log_path,
    )
    try:
        # What RequestIdMiddleware and the tenant middleware do for a request.
        token = bind(request_id="req-sent-by-the-web-7")
        try:
            with context(org_id=org.id, customer_id=customer.id, role=ORGANIZATION):
                assert publish(
                    log_probe,
                    kwargs={"org_id": str(org.id), "customer_id": str(customer.id)},
                    queue=queue,
                )
        finally:
            unbind(token)
        lines = wait_for_lines(
            log_path, lambda got: any("succeeded" in line["message"] for line in got)
        )
    finally:
        stop_process(worker, group=True)
    probe = next(line for line in lines if line["logger"] == "tests.log_probe")
    done = next(line for line in lines if "succeeded" in line["message"])
    for line in (probe, done):
        assert line["request_id"] == "req-sent-by-the-web-7", line
        assert line["org_id"] == str(org.id), line
        assert line["customer_id"] == str(customer.id), line
    idle = [line for line in lines if "ready" in line["message"]]
    assert idle and idle[0]["request_id"] == "-"


def wait_for_lines(path: Any, done: Any, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        lines = [json.loads(text) for text in path.read_text().splitlines() if text.startswith("{")]
        if done(lines) or time.monotonic() > deadline:
            assert done(lines), path.read_text()
            return lines
        time.sleep(0.2)
