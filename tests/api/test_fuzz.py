"""Schemathesis fuzzing from the OpenAPI schema: no 5xx, one error shape, nobody else's data.

Cases come from the schema (bounded: ``MAX_EXAMPLES`` per operation, derandomized) and run
in-process through Django's test client, so they share the test's database transaction.
"""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import urlencode

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings

from tests.api.conftest import make_key
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer, make_customer_data, make_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

MAX_EXAMPLES = 20


def _strings(*objects) -> set[str]:
    return {str(value) for value in objects}


def _forbidden_for(data) -> set[str]:
    return _strings(data.connection.id, data.workflow.id, data.execution.id, data.configuration.id)


def _run(client: Client, case, key: str, customer_header: str | None) -> tuple[int, bytes]:
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    headers["Authorization"] = f"Bearer {key}"
    if customer_header is not None:
        headers = {k: v for k, v in headers.items() if k.lower() != "x-end-org-id"}
        headers["x-end-org-id"] = customer_header
    path = case.formatted_path
    if case.query:
        path += "?" + urlencode(case.query, doseq=True)
    kwargs = {"headers": headers}
    body = case.body
    if case.media_type and not isinstance(body, type(None)) and body.__class__.__name__ != "NotSet":
        kwargs["data"] = json.dumps(body)
        kwargs["content_type"] = case.media_type
    response = client.generic(case.method.upper(), path, **kwargs)
    return response.status_code, response.content


def _fuzz(
    client, operation, label, key, header, forbidden, failures: list[str], statuses: Counter
) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case) -> None:
        status, content = _run(client, case, key, header)
        statuses[(label, operation.label, status)] += 1
        text = content.decode(errors="replace")
        where = f"{label}: {case.method.upper()} {case.formatted_path} {case.query}"
        if status >= 500:
            failures.append(f"{where} -> {status}: {text[:300]}")
            return
        leaked = [value for value in forbidden if value in text]
        if leaked:
            failures.append(f"{where} leaked {leaked}")
        if status >= 400 and status != 405:
            body = json.loads(content)
            if set(body) != {"error"} or not body["error"].get("code"):
                failures.append(f"{where} -> {status} without the error shape: {text[:300]}")

    check()


def test_fuzzed_requests_never_fail_and_never_leak() -> None:
    acme = make_org("Fuzz Acme", plan_code="enterprise")
    globex = make_org("Fuzz Globex", plan_code="enterprise")
    a1, a2 = make_customer(acme, "Fuzz A1"), make_customer(acme, "Fuzz A2", region="eu")
    g1 = make_customer(globex, "Fuzz G1")
    a2_data = make_customer_data(acme, a2)
    make_customer_data(acme, a1)
    g1_data = make_customer_data(globex, g1)
    other_org = _strings(globex.id, g1.id, "Fuzz G1", "Fuzz Globex") | _forbidden_for(g1_data)
    other_customer = _strings(a2.id, "Fuzz A2") | _forbidden_for(a2_data)

    client = Client(raise_request_exception=False)
    schema = schemathesis.openapi.from_dict(client.get("/api/v1/openapi.json").json())
    scenarios = [
        ("organization-wide key", make_key(acme, "admin", name="fuzz all"), None, other_org),
        (
            "key limited to A1",
            make_key(acme, "admin", customers=[a1], name="fuzz a1"),
            str(a1.id),
            other_org | other_customer,
        ),
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    failures: list[str] = []
    statuses: Counter = Counter()
    for label, key, header, forbidden in scenarios:
        for operation in operations:
            _fuzz(client, operation, label, key, header, forbidden, failures, statuses)
    assert not failures, "\n".join(failures[:20])
    # The fuzzing reached the operations themselves, not only the authentication in front.
    succeeded = {op for (_, op, status), _ in statuses.items() if status < 300}
    assert len(succeeded) >= 10, sorted(statuses.items())
