"""A step's body takes the running customer's configuration values (``{{config.<key>}}``,
``dataplane.placeholders``): each customer's run of one definition sends its own values; a value
the customer has not set stops the step, and a secret one goes only to a connector's hosts."""

from __future__ import annotations

import json

import pytest

from dataplane import services
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    as_owner_in_customer,
    make_configuration,
    make_connection,
    make_connector,
    make_workflow,
)
from tests.dataplane.targets import running_target
from tests.dataplane.test_credential_hosts import _run_now
from tests.factories import make_customer, make_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def acme(settings):
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True
    org = make_org("Acme")
    return org, make_customer(org, "Northwind", region="eu")


def test_each_customer_run_sends_its_own_values(acme) -> None:
    org, customer = acme
    other = make_customer(org, "Hooli", region="us")
    make_configuration(org, customer, "channel", "#northwind")
    make_configuration(org, other, "channel", "#hooli")
    with running_target() as target:
        body = {"channel": "{{config.channel}}", "text": "hello {{ config.channel }}", "n": 1}
        step = {"name": "post", "url": target.url("/ok"), "method": "POST", "body": body}
        workflow = make_workflow(org, customer, [step])
        assert _run_now(org, customer, workflow).status == "completed"
        # The same definition, added to the other customer, sends that customer's value.
        theirs = as_owner_in_customer(
            services.workflow_add, org, other, definition=workflow.definition
        )
        assert _run_now(org, other, theirs).status == "completed"
    sent = [json.loads(request["body"]) for request in target.requests]
    assert sent == [
        {"channel": "#northwind", "text": "hello #northwind", "n": 1},
        {"channel": "#hooli", "text": "hello #hooli", "n": 1},
    ]


def test_a_value_the_customer_has_not_set_stops_the_step(acme) -> None:
    org, customer = acme
    with running_target() as target:
        step = {"name": "post", "url": target.url("/ok"), "method": "POST"}
        step["body"] = {"id": "{{config.account_id}}"}
        execution = _run_now(org, customer, make_workflow(org, customer, [step]))
    assert execution.status == "failed"
    assert "configuration value account_id is not set for this customer" in execution.message
    assert target.requests == []


def test_a_secret_value_goes_only_to_a_connectors_hosts(acme) -> None:
    org, customer = acme
    make_configuration(org, customer, "api_secret", "s3cr3t-value", secret=True)
    with running_target() as target:
        body = {"key": "{{config.api_secret}}"}
        anywhere = {"name": "leak", "url": target.url("/ok"), "method": "POST", "body": body}
        refused = _run_now(org, customer, make_workflow(org, customer, [anywhere], name="Leak"))
        assert refused.status == "failed"
        assert "secret configuration value api_secret goes only to a connector" in refused.message
        assert target.requests == []

        connector = make_connector(org, name="Local", base_url=target.url("/"))
        connection = make_connection(org, customer, connector)
        allowed = {**anywhere, "name": "send", "connection": str(connection.id)}
        sent = _run_now(org, customer, make_workflow(org, customer, [allowed], name="Send"))
    assert sent.status == "completed", sent.message
    assert [json.loads(r["body"]) for r in target.requests] == [{"key": "s3cr3t-value"}]
