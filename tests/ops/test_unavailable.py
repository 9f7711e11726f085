"""While a database or Redis is away, pages and API calls answer 503 with Retry-After, never
500, and the next request after it is back is served without a restart (SPEC §15).

The outage is real: the runtime connections are closed and pointed at a port where nothing
listens, so psycopg's own connect fails exactly as it does while PostgreSQL restarts.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import OperationalError, connections
from django.test import Client

from api import ratelimit
from fastn_console.unavailable import is_unavailable
from tests.api.conftest import make_key
from tests.brokers import cache_settings, free_port, redis_server
from tests.conftest import ALL_DATABASES
from tests.factories import client_for, make_customer, make_org

RUNTIME_ALIASES = ("default", "platform")


def _runtime_aliases() -> list[str]:
    regions = [aliases.runtime for aliases in settings.TENANCY_REGION_ALIASES.values()]
    return list(dict.fromkeys([*RUNTIME_ALIASES, *regions]))


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Every runtime alias connects to a closed port until the block ends."""
    saved = {}
    dead_port = str(free_port())
    for alias in _runtime_aliases():
        connection = connections[alias]
        connection.close()
        saved[alias] = (connection.settings_dict["HOST"], connection.settings_dict["PORT"])
        connection.settings_dict["HOST"], connection.settings_dict["PORT"] = "127.0.0.1", dead_port
    try:
        yield
    finally:
        for alias, (host, port) in saved.items():
            connections[alias].close()
            connections[alias].settings_dict["HOST"], connections[alias].settings_dict["PORT"] = (
                host,
                port,
            )


def no_raise(client: Client) -> Client:
    """The test client re-raises a view's exception by default; a browser gets the response."""
    client.raise_request_exception = False
    return client


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_pages_answer_503_while_the_database_is_away_and_recover_without_a_restart() -> None:
    org = make_org("Acme")
    customer = make_customer(org, "Northwind", region="eu")
    owner = no_raise(client_for(org.owner))
    pages = [f"/o/{org.slug}/settings/customers/", f"/o/{org.slug}/customers/{customer.id}/"]
    assert [owner.get(page).status_code for page in pages] == [200, 200]

    with database_unreachable():
        answers = [owner.get(page) for page in pages]
        anonymous_login = no_raise(Client()).post(
            "/accounts/login/", {"username": "owner@acme.test", "password": "x"}
        )
    for response in [*answers, anonymous_login]:
        assert response.status_code == 503, response.content[:300]
        assert response["Retry-After"] == "5"
        assert response["Cache-Control"] == "no-store"
        assert b"Temporarily unavailable" in response.content
        assert b"Traceback" not in response.content

    assert [owner.get(page).status_code for page in pages] == [200, 200]


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_api_answers_503_json_while_the_database_is_away() -> None:
    org = make_org("Acme")
    make_customer(org, "Northwind")
    key = make_key(org)
    api = no_raise(Client())
    headers = {"Authorization": f"Bearer {key}"}
    assert api.get("/api/v1/customers", headers=headers).status_code == 200

    with database_unreachable():
        response = api.get("/api/v1/customers", headers=headers)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"

    assert api.get("/api/v1/customers", headers=headers).status_code == 200


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_api_answers_503_json_within_seconds_while_redis_is_frozen(
    tmp_path, settings, monkeypatch
) -> None:
    org = make_org("Acme")
    make_customer(org, "Northwind")
    key = make_key(org)
    headers = {"Authorization": f"Bearer {key}"}
    with redis_server(tmp_path) as (url, process):
        settings.REDIS_URL = url
        settings.CACHES = cache_settings(url)
        monkeypatch.setattr(ratelimit, "_client", None)
        api = no_raise(Client())
        assert api.get("/api/v1/customers", headers=headers).status_code == 200
        os.kill(process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            response = api.get("/api/v1/customers", headers=headers)
            elapsed = time.monotonic() - started
        finally:
            os.kill(process.pid, signal.SIGCONT)
        assert api.get("/api/v1/customers", headers=headers).status_code == 200
    monkeypatch.setattr(ratelimit, "_client", None)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "rate_limiter_unavailable"
    assert elapsed <= 5, f"the call took {elapsed:.1f} s"


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_runtime_logins_bound_every_statement_and_idle_transaction() -> None:
    def show(alias: str, parameter: str) -> str:
        with connections[alias].cursor() as cursor:
            cursor.execute(f"SHOW {parameter}")
            return str(cursor.fetchone()[0])

    for alias in ("default", "platform"):
        assert show(alias, "statement_timeout") == "30s"
        assert show(alias, "idle_in_transaction_session_timeout") == "30s"
    # Migrations (the owner login) may run long.
    assert show("owner", "statement_timeout") == "0"


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_statement_cut_by_the_timeout_counts_as_unavailable() -> None:
    with pytest.raises(OperationalError) as cut:
        with connections["default"].cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '50ms'")
            cursor.execute("SELECT pg_sleep(2)")
    assert "statement timeout" in str(cut.value)
    assert is_unavailable(cut.value)
    assert not is_unavailable(ValueError("a bug, not an outage"))
