"""Health endpoints: live needs nothing, ready needs the databases and Redis, and the Celery
state is reported without ever taking a web node out or being pinged on every hit."""

from __future__ import annotations

import pytest
from django.test import Client

from fastn_console import health
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def test_live_answers_without_touching_anything(settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = Client().get("/healthz/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_checks_databases_and_redis() -> None:
    response = Client().get("/healthz/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_ready_is_503_with_retry_after_when_redis_is_away(settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = Client().get("/healthz/ready")
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json()["redis"].startswith("error")


def test_no_celery_worker_is_reported_but_keeps_the_node_in(monkeypatch) -> None:
    monkeypatch.setattr(health, "_celery_state", None)
    pings: list[float] = []

    def ping(timeout: float) -> list[object]:
        pings.append(timeout)
        return []

    monkeypatch.setattr(health.celery_app.control, "ping", ping)
    for _ in range(5):
        response = Client().get("/healthz")
        assert response.status_code == 200
        assert response.json()["celery"] == "no workers"
        assert response.json()["status"] == "degraded"
    assert len(pings) == 1  # remembered, not a broadcast per hit
