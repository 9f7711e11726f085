"""Small factories that go through the services, as fastn_app, inside a context."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from django.test import Client

from accounts.models import User
from build.models import Connector, WorkflowDefinition, WorkflowDefinitionVersion
from customers.models import Customer, Organization
from customers.services import customer_create, organization_create
from dataplane import services as dataplane
from dataplane.models import Configuration, Connection, ExecutionLog, Workflow
from roles.models import Membership, Role
from roles.services import membership_create
from tenancy.context import ORGANIZATION, context

PASSWORD = "test-pass-12345"
_seq = itertools.count(1)


def make_user(email: str | None = None, **extra: Any) -> User:
    email = email or f"user{next(_seq)}@example.test"
    return User.objects.create_user(email=email, password=PASSWORD, **extra)


def client_for(user: Any) -> Client:
    """A test client logged in as ``user``."""
    client = Client()
    client.force_login(user)
    return client


def make_org(name: str | None = None, owner: User | None = None, **extra: Any) -> Organization:
    n = next(_seq)
    return organization_create(
        name=name or f"Org {n}", owner=owner or make_user(f"owner{n}@org{n}.test"), **extra
    )


def make_customer(
    org: Organization, name: str | None = None, region: str = "us", **extra: Any
) -> Customer:
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        return customer_create(
            acting_user=org.owner,
            organization=org,
            name=name or f"Customer {next(_seq)}",
            region=region,
            **extra,
        )


def make_member(
    org: Organization, role_key: str, *, user: User | None = None, customer: Customer | None = None
) -> Membership:
    user = user or make_user()
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        role = Role.objects.get(system_key=role_key)
        return membership_create(
            organization=org, user=user, role=role, restricted_customer=customer
        )


@dataclass
class CustomerData:
    connection: Connection
    workflow: Workflow
    execution: ExecutionLog
    configuration: Configuration


def make_customer_data(org: Organization, customer: Customer) -> CustomerData:
    with context(org_id=org.id, customer_id=customer.id, role=ORGANIZATION):
        connection = dataplane.connection_create_unchecked(
            connector_id=_connector_id(org), name="Slack"
        )
        workflow = dataplane.workflow_create_unchecked(definition_id=_definition_id(org))
        execution = dataplane.execution_log_create_unchecked(
            workflow=workflow, connection=connection
        )
        configuration = dataplane.configuration_set_unchecked(key="interval", value="15")
    return CustomerData(connection, workflow, execution, configuration)


def _definition_id(org: Organization) -> Any:
    """A new workflow definition of ``org`` (version 1, no steps)."""
    number = next(_seq)
    definition = WorkflowDefinition.objects.create(
        org=org, name=f"Workflow {number}", slug=f"workflow-{number}", definition={"steps": []}
    )
    WorkflowDefinitionVersion.objects.create(
        org=org, workflow=definition, number=1, snapshot={"definition": {"steps": []}}
    )
    return definition.id


def _connector_id(org: Organization) -> Any:
    connector = Connector.objects.filter(slug="slack").first()
    if connector is None:
        connector = Connector.objects.create(
            org=org, name="Slack", slug="slack", auth_method="oauth2"
        )
    return connector.id
