"""OAuth 2.0 tokens are refreshed before they expire (Celery beat's sweep, on a real worker) and
after a 401 during a run (once, then the step is retried); a provider answering invalid_grant
revokes the connection, other failures mark it error and keep the tokens (SPEC §11)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings as django_settings

from dataplane import services
from dataplane.encryption import decrypt_credentials
from dataplane.models import Connection, ConnectionStatus, ExecutionLog, ExecutionStatus
from dataplane.tasks import oauth_refresh_sweep_task, run_workflow
from roles import catalog
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import in_customer, make_workflow
from tests.dataplane.oauth_provider import oauth_connector, running_provider
from tests.dataplane.test_oauth_flow import come_back, connections, start
from tests.world import World


def connected(world: World, settings, provider) -> Connection:
    connector = oauth_connector(world.org, provider, settings)
    client = world.client(catalog.OWNER)
    assert come_back(client, start(client, world, connector)).status_code == 302
    [connection] = connections(world)
    return connection


def access_token(world: World, connection: Connection) -> str:
    with in_customer(world.org, world.customer):
        stored = Connection.objects.get(id=connection.id).credentials
    return decrypt_credentials(stored)["access_token"]


def run_now(world: World, workflow) -> ExecutionLog:
    with in_customer(world.org, world.customer):
        execution = services.execution_log_create_unchecked(
            workflow=workflow, status=ExecutionStatus.QUEUED
        )
    run_workflow(
        org_id=str(world.org.id),
        customer_id=str(world.customer.id),
        execution_id=str(execution.id),
        version=workflow.current_version,
    )
    with in_customer(world.org, world.customer):
        return ExecutionLog.objects.get(id=execution.id)


def reload(world: World, connection: Connection) -> Connection:
    with in_customer(world.org, world.customer):
        return Connection.objects.get(id=connection.id)


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_run_refreshes_once_after_a_401_and_retries(world, settings) -> None:
    with running_provider() as provider:
        connection = connected(world, settings, provider)
        before = access_token(world, connection)
        step = {"name": "read", "url": provider.url("/resource"), "connection": str(connection.id)}
        workflow = make_workflow(world.org, world.customer, [step])
        provider.expire_access_tokens()
        execution = run_now(world, workflow)
    assert execution.status == ExecutionStatus.COMPLETED, execution.message
    assert provider.resource_requests[0] == before
    assert provider.resource_requests[1] == access_token(world, connection) != before
    assert [r["grant_type"] for r in provider.token_requests] == [
        "authorization_code",
        "refresh_token",
    ]
    assert reload(world, connection).status == ConnectionStatus.ACTIVE


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_invalid_grant_revokes_the_connection_and_the_run_fails(world, settings) -> None:
    with running_provider() as provider:
        connection = connected(world, settings, provider)
        step = {"name": "read", "url": provider.url("/resource"), "connection": str(connection.id)}
        workflow = make_workflow(world.org, world.customer, [step])
        provider.expire_access_tokens()
        provider.revoke_all()
        execution = run_now(world, workflow)
    assert execution.status == ExecutionStatus.FAILED
    assert len(provider.resource_requests) == 1  # no retry without a new token
    after = reload(world, connection)
    assert after.status == ConnectionStatus.REVOKED
    assert "invalid_grant" in after.status_message
    page = world.client(catalog.OWNER).get(
        world.customer_url(suffix=f"connections/{connection.id}/")
    )
    text = page.content.decode()
    assert "Revoked" in text and "Reconnect to authorize again" in text


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_a_failing_token_endpoint_marks_error_and_keeps_the_tokens(world, settings) -> None:
    with running_provider() as provider:
        connection = connected(world, settings, provider)
        before = reload(world, connection).credentials
        step = {"name": "read", "url": provider.url("/resource"), "connection": str(connection.id)}
        workflow = make_workflow(world.org, world.customer, [step])
        provider.expire_access_tokens()
        provider.fail_with = 502
        assert run_now(world, workflow).status == ExecutionStatus.FAILED
    after = reload(world, connection)
    assert after.status == ConnectionStatus.ERROR and "server_error" in after.status_message
    assert after.credentials == before and after.refresh_lease_until is None


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_an_oauth_token_goes_only_to_the_connectors_hosts(world, settings) -> None:
    with running_provider() as provider:
        connection = connected(world, settings, provider)
        with in_customer(world.org, world.customer):
            slug = Connection.objects.get(id=connection.id).connector.slug
        response = world.client(catalog.OWNER).post(
            f"/o/{world.org.slug}/build/workflows/new/",
            {
                "name": "Leak",
                "description": "",
                "definition": '{"steps": [{"name": "x", "url": "https://attacker.example/", '
                f'"connector": "{slug}"}}]}}',
            },
        )
    assert "is not a host of connector Fake CRM" in response.content.decode()


def test_the_beat_schedule_runs_the_refresh_sweep_every_minute() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["dataplane-oauth-refresh"]
    assert entry == {"task": "dataplane.oauth_refresh_sweep", "schedule": 60.0}


@pytest.mark.django_db(databases=ALL_DATABASES, transaction=True)
def test_the_worker_refreshes_tokens_before_they_expire(world, settings, celery_worker) -> None:
    with running_provider(expires_in=120) as provider:  # within the 5 minutes before expiry
        connection = connected(world, settings, provider)
        before = access_token(world, connection)
        expiry = reload(world, connection).token_expires_at
        oauth_refresh_sweep_task.delay()
        deadline = time.monotonic() + 30
        while access_token(world, connection) == before and time.monotonic() < deadline:
            time.sleep(0.2)
    after = reload(world, connection)
    assert access_token(world, connection) != before, celery_worker.log_path.read_text()[-3000:]
    assert after.status == ConnectionStatus.ACTIVE and after.token_expires_at > expiry
    assert decrypt_credentials(after.credentials)["access_token"] in provider.access_tokens
    assert [r["grant_type"] for r in provider.token_requests][-1] == "refresh_token"
