"""Builders shared by the build, data-plane and widget tests (through the services)."""

from __future__ import annotations

from typing import Any

from django.test import Client

from build.services import AGENTS, CONNECTORS, TOOLS, build_item_create, build_item_deploy
from customers.models import Customer, Organization
from dataplane import services as dataplane
from dataplane.models import Configuration, Connection, Workflow
from roles import catalog
from tenancy.context import ORGANIZATION, context
from tests.factories import make_member

ROLES = (catalog.OWNER, catalog.DEVELOPER, catalog.OPERATOR, catalog.VIEWER, catalog.END_USER)


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def user_with_role(org: Organization, role: str, customer: Customer | None = None) -> Any:
    if role == catalog.OWNER:
        return org.owner
    restricted = customer if role == catalog.END_USER else None
    return make_member(org, role, customer=restricted).user


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


def in_customer(org: Organization, customer: Customer) -> Any:
    return context(org_id=org.id, customer_id=customer.id, role=ORGANIZATION, user_id=org.owner_id)


def make_connection(
    org: Organization, customer: Customer, connector: Any, token: str = "secret-token-value-1234"
) -> Connection:
    with in_customer(org, customer):
        return dataplane.connection_connect(
            acting_user=org.owner,
            organization=org,
            customer=customer,
            connector=connector,
            credentials={"access_token": token},
        )


def make_workflow(
    org: Organization, customer: Customer, steps: list[dict[str, Any]], name: str = "Sync"
) -> Workflow:
    with in_customer(org, customer):
        return dataplane.workflow_add(
            acting_user=org.owner,
            organization=org,
            customer=customer,
            name=name,
            definition={"steps": steps},
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
    with in_customer(org, customer):
        return dataplane.configuration_add(
            acting_user=org.owner,
            organization=org,
            customer=customer,
            key=key,
            value=value,
            is_secret=secret,
            end_user_editable=editable,
        )


def set_status(obj: Any, status: str) -> None:
    """Put a customer or an organization into ``status`` (as its owner would see it happen)."""
    org_id = getattr(obj, "org_id", None) or obj.id
    with context(org_id=org_id, role=ORGANIZATION):
        type(obj).objects.filter(id=obj.id).update(status=status)
    obj.status = status
