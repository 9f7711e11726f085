"""Builders shared by the build, data-plane and widget tests (through the services), on top of
the suite's world (``tests/world.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse

from billing.services import customer_limit_set
from build.models import Connector, WorkflowDefinition
from build.services import (
    AGENTS,
    CONNECTORS,
    TOOLS,
    WORKFLOWS,
    build_item_create,
    build_item_deploy,
    build_item_update,
)
from customers.models import Customer, Organization
from dataplane import services as dataplane
from dataplane.models import Configuration, Connection, Workflow
from tenancy.context import ORGANIZATION, context
from tests.factories import client_for


def make_connector(org: Organization, *, deploy_prod: bool = True, **data: Any) -> Any:
    values = {
        "name": "Acme CRM",
        "description": "",
        "auth_method": "oauth2",
        "credential_fields": ["access_token"],
        "base_url": "https://crm.example",
        **data,
    }
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        connector = build_item_create(
            acting_user=org.owner, organization=org, kind=CONNECTORS, data=values
        )
        if deploy_prod:
            build_item_deploy(
                acting_user=org.owner,
                organization=org,
                kind=CONNECTORS,
                item=connector,
                environment="prod",
                number=1,
            )
    return connector


def make_endpoint_item(org: Organization, kind: str = "agents", **data: Any) -> Any:
    values = {
        "name": "Summarizer",
        "description": "",
        "endpoint_url": "https://agent.example/run",
        "input_schema": {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
        **data,
    }
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        return build_item_create(
            acting_user=org.owner,
            organization=org,
            kind=AGENTS if kind == "agents" else TOOLS,
            data=values,
        )


def allow_local_outbound(settings: Any) -> None:
    """Outbound calls may also go to the tests' local servers (pytest-django's ``settings``)."""
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = True


def post_to_test_panel(
    org: Organization, customer: Customer, user: Any, endpoint_url: str
) -> HttpResponse:
    """Create a tool calling ``endpoint_url`` and run it from its test panel for ``customer``."""
    tool = make_endpoint_item(org, "tools", endpoint_url=endpoint_url)
    return client_for(user).post(
        f"/o/{org.slug}/build/tools/{tool.id}/test/",
        {"customer": str(customer.id), "payload": '{"text": "hello"}'},
    )


def in_customer(org: Organization, customer: Customer) -> Any:
    return context(org_id=org.id, customer_id=customer.id, role=ORGANIZATION, user_id=org.owner_id)


def as_owner_in_customer(
    service: Callable[..., Any], org: Organization, customer: Customer, **fields: Any
) -> Any:
    """``service(**fields)`` called by the Owner of ``org`` for ``customer``, in its context."""
    with in_customer(org, customer):
        return service(acting_user=org.owner, organization=org, customer=customer, **fields)


def make_connection(
    org: Organization, customer: Customer, connector: Any, token: str = "secret-token-value-1234"
) -> Connection:
    return as_owner_in_customer(
        dataplane.connection_connect,
        org,
        customer,
        connector=connector,
        credentials={"access_token": token},
    )


def make_definition(
    org: Organization, definition: dict[str, Any], name: str = "Sync"
) -> WorkflowDefinition:
    """An organization's workflow definition (version 1, deployed nowhere), by its Owner."""
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        return build_item_create(
            acting_user=org.owner,
            organization=org,
            kind=WORKFLOWS,
            data={"name": name, "description": "", "definition": definition},
        )


def _by_connector(
    org: Organization, customer: Customer, definition: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """``definition`` with each step's ``"connection": <id>`` (a connection of ``customer``)
    turned into ``"connector": <its connector's slug>``, and those connections by slug."""
    steps, chosen = [], {}
    with in_customer(org, customer):
        for step in definition.get("steps", []):
            step = dict(step)
            if "connection" in step:
                connection = Connection.objects.get(id=step.pop("connection"))
                with context(org_id=org.id, role=ORGANIZATION):
                    slug = Connector.objects.get(id=connection.connector_id).slug
                step["connector"] = slug
                chosen[slug] = str(connection.id)
            steps.append(step)
    return {**definition, "steps": steps}, chosen


def add_workflow(
    org: Organization, customer: Customer, definition: dict[str, Any], name: str = "Sync"
) -> Workflow:
    """A new definition (version 1, deployed nowhere) added to ``customer``; see
    ``make_workflow`` for steps naming a connection. Refusals raise ``ValidationError``."""
    converted, chosen = _by_connector(org, customer, definition)
    item = make_definition(org, converted, name)
    return as_owner_in_customer(
        dataplane.workflow_add, org, customer, definition=item, connections=chosen
    )


def make_workflow(
    org: Organization, customer: Customer, steps: list[dict[str, Any]], name: str = "Sync"
) -> Workflow:
    """A new definition of ``steps`` (version 1, deployed nowhere) added to ``customer``. A step
    may name a connection of the customer (``"connection": id``): the definition names its
    connector and the customer's workflow uses that connection."""
    return add_workflow(org, customer, {"steps": steps}, name)


def redefine_workflow(
    org: Organization, customer: Customer, workflow: Workflow, definition: dict[str, Any]
) -> None:
    """Save ``definition`` as the next version of ``workflow``'s definition (deployed nowhere
    yet); a step's connection of ``customer`` becomes its connector, as in ``make_workflow``."""
    converted, chosen = _by_connector(org, customer, definition)
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        item = WORKFLOWS.items().get(id=workflow.definition_id)
        build_item_update(
            acting_user=org.owner,
            organization=org,
            kind=WORKFLOWS,
            item=item,
            data={"name": item.name, "description": item.description, "definition": converted},
        )
    if chosen:
        with in_customer(org, customer):
            fresh = Workflow.objects.get(id=workflow.id)
        as_owner_in_customer(
            dataplane.workflow_configure,
            org,
            customer,
            workflow=fresh,
            connections={**fresh.connections, **chosen},
        )


def deploy_workflow(
    org: Organization, customer: Customer, workflow: Workflow, environment: str, number: int = 1
) -> None:
    """Make version ``number`` of ``workflow``'s definition live in ``environment`` (for every
    customer that has it)."""
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        build_item_deploy(
            acting_user=org.owner,
            organization=org,
            kind=WORKFLOWS,
            item=WORKFLOWS.items().get(id=workflow.definition_id),
            environment=environment,
            number=number,
        )


def make_configuration(
    org: Organization,
    customer: Customer,
    key: str,
    value: str,
    *,
    editable: bool = False,
    secret: bool = False,
) -> Configuration:
    return as_owner_in_customer(
        dataplane.configuration_add,
        org,
        customer,
        key=key,
        value=value,
        is_secret=secret,
        end_user_editable=editable,
    )


def set_customer_limit(org: Organization, customer: Customer, key: str, value: int) -> None:
    """A customer limit override of ``key``, set by the Owner through the billing service."""
    as_owner_in_customer(customer_limit_set, org, customer, key=key, value=value)


def set_status(obj: Any, status: str) -> None:
    """Put a customer or an organization into ``status`` (as its owner would see it happen)."""
    org_id = getattr(obj, "org_id", None) or obj.id
    with context(org_id=org_id, role=ORGANIZATION):
        type(obj).objects.filter(id=obj.id).update(status=status)
    obj.status = status
