"""Demo data (SPEC §2): Acme and Globex, their customers in several regions, one user per
system role, and each customer's data in its region's database. Idempotent."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from build.models import AuthMethod, Connector, ConnectorVersion
from customers.models import Customer, Organization
from customers.services import customer_create, organization_create
from dataplane import services as dataplane
from dataplane.models import Connection, ExecutionLog, ExecutionStatus
from roles import catalog
from roles.models import Membership, Role
from roles.services import membership_create
from tenancy.context import ORGANIZATION, context


@dataclass(frozen=True)
class DemoOrg:
    name: str
    slug: str
    domain: str
    owner_email: str
    customers: tuple[tuple[str, str, str], ...]  # name, external id, region


ACME = DemoOrg(
    "Acme",
    "acme",
    "acme.test",
    "owner@acme.test",
    (
        ("Northwind Traders", "nw-001", "us"),
        ("Contoso Europe", "ct-eu-7", "eu"),
        ("Umbrella Asia", "ub-ap-3", "apac"),
        ("Initech", "in-042", "us"),
        ("Berlin Bikes GmbH", "bb-eu-2", "eu"),
    ),
)
GLOBEX = DemoOrg(
    "Globex",
    "globex",
    "globex.test",
    "owner@globex.test",
    (
        ("Springfield Power", "sp-1", "us"),
        ("Paris Patisserie", "pp-eu-1", "eu"),
    ),
)
ACME_MEMBERS = (
    ("admin@acme.test", catalog.ADMIN),
    ("developer@acme.test", catalog.DEVELOPER),
    ("operator@acme.test", catalog.OPERATOR),
    ("viewer@acme.test", catalog.VIEWER),
    ("enduser@acme.test", catalog.END_USER),
)
CONNECTORS = (
    ("Slack", AuthMethod.OAUTH2, ["access_token"]),
    ("Salesforce", AuthMethod.OAUTH2, ["access_token", "instance_url"]),
    ("Stripe", AuthMethod.API_KEY, ["api_key"]),
)


def _user(email: str, password: str, **extra: Any) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, **extra)
    return user


def _organization(demo: DemoOrg, password: str, log: Any) -> Organization:
    organization = Organization.objects.filter(slug=demo.slug).first()
    if organization is None:
        owner = _user(demo.owner_email, password, full_name=f"{demo.name} Owner")
        organization = organization_create(
            name=demo.name, slug=demo.slug, owner=owner, email_domain=demo.domain
        )
        log(f"Created organization {demo.name}")
    return organization


def _customers(demo: DemoOrg, organization: Organization) -> list[Customer]:
    customers = []
    for name, external_id, region in demo.customers:
        customer = Customer.objects.filter(external_id=external_id).first()
        if customer is None:
            customer = customer_create(
                acting_user=organization.owner,
                organization=organization,
                name=name,
                external_id=external_id,
                region=region,
            )
        customers.append(customer)
    return customers


def _connectors(organization: Organization) -> list[Connector]:
    connectors = []
    for name, auth_method, fields in CONNECTORS:
        connector = Connector.objects.filter(slug=name.lower()).first()
        if connector is None:
            connector = Connector.objects.create(
                org=organization,
                name=name,
                slug=name.lower(),
                description=f"{name} integration",
                auth_method=auth_method,
                credential_fields=fields,
                base_url=f"https://api.{name.lower()}.example",
                test_version=1,
                prod_version=1,
            )
            ConnectorVersion.objects.create(
                org=organization,
                connector=connector,
                number=1,
                snapshot={"auth_method": auth_method, "credential_fields": fields},
                created_by=organization.owner,
            )
        connectors.append(connector)
    return connectors


def _customer_data(
    organization: Organization, customer: Customer, connectors: list[Connector]
) -> None:
    with context(org_id=organization.id, customer_id=customer.id, role=ORGANIZATION):
        if Connection.objects.exists():
            return
        rng = random.Random(str(customer.id))
        connections = [
            dataplane.connection_create_unchecked(
                connector_id=connector.id, name=f"{connector.name}"
            )
            for connector in connectors[: 2 + rng.randint(0, 1)]
        ]
        workflow = dataplane.workflow_create_unchecked(
            name="Sync new deals",
            definition={"steps": [{"name": "notify", "url": "https://hooks.example/notify"}]},
            description=f"Copies {customer.name}'s new deals into Slack.",
        )
        statuses = [ExecutionStatus.COMPLETED] * 6 + [ExecutionStatus.FAILED]
        for index in range(12):
            log = dataplane.execution_log_create_unchecked(
                workflow=workflow,
                connection=connections[index % len(connections)],
                status=rng.choice(statuses),
                duration_ms=rng.randint(40, 2400),
                message="ok" if index % 5 else "upstream returned 502",
            )
            ExecutionLog.objects.filter(id=log.id).update(
                created_at=timezone.now() - timedelta(hours=index * 3)
            )
        dataplane.configuration_set_unchecked(
            key="sync_interval_minutes", value="15", end_user_editable=True
        )
        dataplane.configuration_set_unchecked(
            key="webhook_secret", value="whsec_demo_only", is_secret=True
        )


def production_refusal() -> str | None:
    """Why demo data must not be seeded here, or ``None``. The demo creates a staff superuser
    and members whose password is the published demo password: only with ``DEBUG`` on (a
    development machine, or a test that turns it on), never with production settings."""
    if settings.DEBUG:
        return None
    return (
        "seed_demo refuses to run with production settings: it creates a staff superuser and "
        "members with the demo password (DEMO_PASSWORD). Set DJANGO_DEBUG=true on a "
        "development machine to seed demo data."
    )


def seed(log: Any = print) -> None:
    password = settings.DEMO_PASSWORD
    staff = _user("staff@fastn.test", password, full_name="Fastn Staff")
    if not staff.is_staff:
        staff.is_staff = staff.is_superuser = True
        staff.save(update_fields=["is_staff", "is_superuser"])
    for demo in (ACME, GLOBEX):
        organization = _organization(demo, password, log)
        with context(org_id=organization.id, role=ORGANIZATION, user_id=organization.owner_id):
            customers = _customers(demo, organization)
            connectors = _connectors(organization)
            if demo is ACME:
                for email, role_key in ACME_MEMBERS:
                    user = _user(email, password)
                    if Membership.objects.filter(user=user).exists():
                        continue
                    role = Role.objects.get(system_key=role_key)
                    membership_create(
                        organization=organization,
                        user=user,
                        role=role,
                        restricted_customer=customers[0] if role.customer_restricted else None,
                    )
        for customer in customers:
            _customer_data(organization, customer, connectors)
        log(f"{demo.name}: {len(customers)} customers with their data")
