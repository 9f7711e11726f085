"""Demo data (SPEC §2): Acme and Globex, their customers in several regions, one user per
system role, and each customer's data in its region's database — shaped like a real
organization's weeks of use: daily usage, executions that mostly succeed and fail with the
messages their failures would give, members invited and asking to join, and a partner signup
waiting in the staff review. Idempotent: each part is created once, and the usage series is
filled up to today on every run. Everything goes through the services, except what only the
passing of time makes (timestamps in the past, usage counters, an expired token)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from api.models import ApiKey, UsageKind, UsageRecord
from api.services import api_key_create, assignable_presets
from build.models import AuthMethod, Connector, ConnectorVersion
from build.services import AGENTS, TOOLS, WORKFLOWS, Kind, build_item_create, build_item_deploy
from customers.demo_signups import REVIEW_APPLICANT, signup_applications
from customers.models import Customer, CustomerStatus, Organization
from customers.services import customer_create, customer_status_change, organization_create
from dataplane import services as dataplane
from dataplane.models import (
    Connection,
    ConnectionStatus,
    ExecutionLog,
    ExecutionStatus,
)
from roles import catalog
from roles.models import Invitation, Membership, Role
from roles.services import invitation_create, membership_create, role_create
from tenancy.context import ORGANIZATION, context

__all__ = ["REVIEW_APPLICANT", "production_refusal", "seed"]

USAGE_DAYS = 42
LINK_BASE = "http://127.0.0.1:8000"  # where `make run` serves the console


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    external_id: str
    region: str
    events_per_day: int  # a typical weekday; API calls run at about twice that
    status: str = CustomerStatus.ACTIVE
    today: tuple[int, int] | None = None  # (events, API calls) so far today, when notable


@dataclass(frozen=True)
class DemoOrg:
    name: str
    slug: str
    domain: str
    owner_email: str
    customers: tuple[DemoCustomer, ...]


ACME = DemoOrg(
    "Acme",
    "acme",
    "acme.test",
    "owner@acme.test",
    (
        DemoCustomer("Northwind Traders", "nw-001", "us", 340, today=(431, 612)),
        DemoCustomer("Contoso Europe", "ct-eu-7", "eu", 190),
        DemoCustomer("Umbrella Asia", "ub-ap-3", "apac", 260, today=(288, 1000)),
        DemoCustomer("Initech", "in-042", "us", 80, status=CustomerStatus.SUSPENDED),
        DemoCustomer("Berlin Bikes GmbH", "bb-eu-2", "eu", 55),
        DemoCustomer(
            "Soylent Foods", "sf-ap-5", "apac", 0, status=CustomerStatus.PENDING_ACTIVATION
        ),
    ),
)
GLOBEX = DemoOrg(
    "Globex",
    "globex",
    "globex.test",
    "owner@globex.test",
    (
        DemoCustomer("Springfield Power", "sp-1", "us", 120),
        DemoCustomer("Paris Patisserie", "pp-eu-1", "eu", 35),
    ),
)
ACME_MEMBERS = (
    ("admin@acme.test", catalog.ADMIN, "Ada Admin"),
    ("developer@acme.test", catalog.DEVELOPER, "Dev Patel"),
    ("operator@acme.test", catalog.OPERATOR, "Olu Operator"),
    ("viewer@acme.test", catalog.VIEWER, "Vera Viewer"),
    ("enduser@acme.test", catalog.END_USER, "Eli Enduser"),
)
CONNECTORS = (
    ("Slack", AuthMethod.OAUTH2, ["access_token"]),
    ("Salesforce", AuthMethod.OAUTH2, ["access_token", "instance_url"]),
    ("Stripe", AuthMethod.API_KEY, ["api_key"]),
)
DEMO_CREDENTIALS = {
    "access_token": "demo-access-token-0000000000",
    "instance_url": "https://acme-demo.my.salesforce.example",
    "api_key": "sk_demo_0000000000000000",
}
ENDPOINT_ITEMS = (
    (
        AGENTS,
        "Ticket summarizer",
        "Summarizes a support ticket thread into three bullet points.",
        "https://agents.acme.example/summarize",
        {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    ),
    (
        TOOLS,
        "Currency converter",
        "Converts an amount between two ISO 4217 currencies at today's rate.",
        "https://tools.acme.example/convert",
        {
            "type": "object",
            "properties": {
                "amount": {"type": "number"},
                "from": {"type": "string"},
                "to": {"type": "string"},
            },
            "required": ["amount", "from", "to"],
        },
    ),
)
# The organization's workflows (SPEC §11): defined once, added to every active customer.
WORKFLOW_DEFINITIONS: dict[str, dict[str, Any]] = {
    "Sync new deals": {
        "description": "Copies a customer's new Salesforce deals into Slack.",
        "definition": {
            "triggers": [{"event": "deal.created"}],
            "steps": [{"name": "notify", "url": "https://hooks.slack.example/notify"}],
        },
    },
    "Payment reminders": {
        "description": "Reminds customers of overdue invoices every morning.",
        "definition": {
            "triggers": [{"event": "invoice.overdue"}],
            "steps": [{"name": "remind", "url": "https://api.stripe.example/reminders"}],
        },
    },
}
# What a run of each workflow reports: (status, message, duration range in ms, weight).
OUTCOMES: dict[str, tuple[tuple[str, str, tuple[int, int], int], ...]] = {
    "Sync new deals": (
        (
            ExecutionStatus.COMPLETED,
            "Copied {n} new deals from Salesforce to #sales",
            (300, 1400),
            16,
        ),
        (
            ExecutionStatus.FAILED,
            "Salesforce answered 401 Unauthorized: the access token has expired. "
            "Reconnect Salesforce to resume the sync.",
            (120, 400),
            2,
        ),
        (
            ExecutionStatus.TIMEOUT,
            "Slack did not answer within 30 s (hooks.slack.example); the run was stopped.",
            (30000, 30000),
            1,
        ),
    ),
    "Payment reminders": (
        (
            ExecutionStatus.COMPLETED,
            "Sent {n} payment reminders for overdue invoices",
            (200, 900),
            10,
        ),
        (
            ExecutionStatus.FAILED,
            "Stripe answered 429 Too Many Requests (retry after 12 s); 3 reminders were not sent.",
            (150, 500),
            2,
        ),
    ),
}


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
    for spec in demo.customers:
        customer = Customer.objects.filter(external_id=spec.external_id).first()
        if customer is None:
            customer = customer_create(
                acting_user=organization.owner,
                organization=organization,
                name=spec.name,
                external_id=spec.external_id,
                region=spec.region,
                status=(
                    CustomerStatus.PENDING_ACTIVATION
                    if spec.status == CustomerStatus.PENDING_ACTIVATION
                    else CustomerStatus.ACTIVE
                ),
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


def _endpoint_items(organization: Organization) -> None:
    for kind, name, description, url, schema in ENDPOINT_ITEMS:
        data = {"description": description, "endpoint_url": url, "input_schema": schema}
        _deployed_item(organization, kind, name, data)


def _workflow_definitions(organization: Organization) -> list[Any]:
    """The organization's two workflows, version 1 live in test and prod (customers add them)."""
    return [
        _deployed_item(organization, WORKFLOWS, name, data)
        for name, data in WORKFLOW_DEFINITIONS.items()
    ]


def _deployed_item(organization: Organization, kind: Kind, name: str, data: dict[str, Any]) -> Any:
    """The build item ``name`` of ``kind``, created with ``data`` and deployed to test and prod
    as version 1 the first time."""
    existing = kind.items().filter(name=name).first()
    if existing is not None:
        return existing
    item = build_item_create(
        acting_user=organization.owner,
        organization=organization,
        kind=kind,
        data={"name": name, **data},
    )
    for environment in ("test", "prod"):
        build_item_deploy(
            acting_user=organization.owner,
            organization=organization,
            kind=kind,
            item=item,
            environment=environment,
            number=1,
        )
    return item


def _members(organization: Organization, customers: list[Customer], password: str) -> None:
    for email, role_key, full_name in ACME_MEMBERS:
        user = _user(email, password, full_name=full_name)
        if Membership.objects.filter(user=user).exists():
            continue
        role = Role.objects.get(system_key=role_key)
        membership_create(
            organization=organization,
            user=user,
            role=role,
            restricted_customer=customers[0] if role.customer_restricted else None,
        )


def _people_and_keys(organization: Organization) -> None:
    """A custom role, a pending invitation and an API key, as an owner makes them."""
    owner = organization.owner
    if not Role.objects.filter(name="Support engineer").exists():
        role_create(
            acting_user=owner,
            organization=organization,
            name="Support engineer",
            description="Reads everything and tests customers' connections; changes nothing.",
            permissions=[
                *Role.objects.get(system_key=catalog.VIEWER).permissions,
                "connections.execute",
            ],
        )
    if not Invitation.objects.exists():
        invitation_create(
            acting_user=owner,
            organization=organization,
            email="jordan@acme.test",
            role=Role.objects.get(system_key=catalog.DEVELOPER),
            link_base=LINK_BASE,
        )
    if not ApiKey.objects.exists():
        membership = Membership.objects.get(user=owner)
        preset = next(
            role for role in assignable_presets(membership=membership) if role.system_key == "admin"
        )
        api_key_create(
            acting_user=owner,
            membership=membership,
            organization=organization,
            name="Production backend",
            role=preset,
            all_customers=True,
        )


def _customer_data(
    organization: Organization,
    customer: Customer,
    connectors: list[Connector],
    definitions: list[Any],
) -> None:
    """Connections with (fake) credentials, two workflows, two weeks of executions and the
    customer's configuration; nothing for a customer still pending activation."""
    if customer.status == CustomerStatus.PENDING_ACTIVATION:
        return
    with context(org_id=organization.id, customer_id=customer.id, role=ORGANIZATION):
        if Connection.objects.exists():
            return
        rng = random.Random(customer.name)
        connections = [
            dataplane.connection_connect(
                acting_user=organization.owner,
                organization=organization,
                customer=customer,
                connector=connector,
                credentials={
                    field: DEMO_CREDENTIALS[field] for field in connector.credential_fields
                },
            )
            for connector in connectors[: 2 + rng.randint(0, 1)]
        ]
        if rng.random() < 0.4:
            Connection.objects.filter(id=connections[1].id).update(status=ConnectionStatus.EXPIRED)
        workflows = [
            dataplane.workflow_create_unchecked(definition_id=definition.id)
            for definition in definitions
        ]
        # Version 1 of each is deployed to test and prod, and the runs below ran it in prod.
        now = timezone.now()
        for index in range(26):
            workflow_index = 0 if index % 3 else 1
            workflow = workflows[workflow_index]
            outcomes = OUTCOMES[definitions[workflow_index].name]
            status, message, (low, high), _ = rng.choices(
                outcomes, weights=[outcome[3] for outcome in outcomes]
            )[0]
            if index == 1:  # every customer has a recent failure to look into
                status, message, (low, high), _ = outcomes[1]
            log = dataplane.execution_log_create_unchecked(
                workflow=workflow,
                connection=connections[index % len(connections)],
                status=status,
                duration_ms=rng.randint(low, high),
                message=message.format(n=rng.randint(2, 24)),
            )
            at = now - timedelta(hours=index * 13 + rng.randint(0, 5), minutes=rng.randint(0, 59))
            ExecutionLog.objects.filter(id=log.id).update(
                created_at=at,
                started_at=at,
                finished_at=at + timedelta(milliseconds=low),
                version=1,
            )
        dataplane.configuration_set_unchecked(
            key="sync_interval_minutes", value="15", end_user_editable=True
        )
        dataplane.configuration_set_unchecked(key="slack_channel", value="#sales")
        dataplane.configuration_set_unchecked(
            key="webhook_secret", value="whsec_demo_only", is_secret=True
        )


def _usage(organization: Organization, demo: DemoOrg, customers: list[Customer]) -> None:
    """Daily events and API calls for the last weeks, as the usage flush would have written
    them: weekdays busier than weekends, nothing after a suspension; missing days only."""
    today = timezone.now().date()
    suspended_since = today - timedelta(days=9)
    rows = []
    for spec, customer in zip(demo.customers, customers, strict=True):
        rng = random.Random(f"usage:{customer.name}")
        for offset in range(USAGE_DAYS):
            day = today - timedelta(days=offset)
            if spec.status == CustomerStatus.SUSPENDED and day >= suspended_since:
                continue
            events, calls = _day_usage(rng, spec.events_per_day, day)
            if offset == 0:
                events, calls = spec.today or (events * 2 // 3, calls * 2 // 3)
            rows += _usage_rows(organization, customer.id, day, events, calls)
    for offset in range(USAGE_DAYS):
        day = today - timedelta(days=offset)
        rows += _usage_rows(organization, None, day, 0, 20 + (day.toordinal() * 7) % 35)
    UsageRecord.objects.bulk_create([row for row in rows if row.count], ignore_conflicts=True)


def _day_usage(rng: random.Random, typical: int, day: date) -> tuple[int, int]:
    weekend = day.weekday() >= 5
    events = int(typical * (0.35 if weekend else 1.0) * rng.uniform(0.75, 1.2))
    return events, int(events * rng.uniform(1.7, 2.3))


def _usage_rows(
    organization: Organization, customer_id: Any, day: date, events: int, calls: int
) -> list[UsageRecord]:
    return [
        UsageRecord(
            org=organization, subject_customer_id=customer_id, day=day, kind=kind, count=count
        )
        for kind, count in ((UsageKind.EVENT, events), (UsageKind.API_CALL, calls))
    ]


def _suspensions(demo: DemoOrg, organization: Organization, customers: list[Customer]) -> None:
    for spec, customer in zip(demo.customers, customers, strict=True):
        if spec.status == CustomerStatus.SUSPENDED and customer.status == CustomerStatus.ACTIVE:
            customer_status_change(
                acting_user=organization.owner, customer=customer, status=spec.status
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
    acme = None
    for demo in (ACME, GLOBEX):
        organization = _organization(demo, password, log)
        with context(org_id=organization.id, role=ORGANIZATION, user_id=organization.owner_id):
            customers = _customers(demo, organization)
            connectors = _connectors(organization)
            definitions = _workflow_definitions(organization)
            if demo is ACME:
                acme = organization
                _endpoint_items(organization)
                _members(organization, customers, password)
                _people_and_keys(organization)
        for customer in customers:
            _customer_data(organization, customer, connectors, definitions)
        with context(org_id=organization.id, role=ORGANIZATION, user_id=organization.owner_id):
            _usage(organization, demo, customers)
            _suspensions(demo, organization, customers)
        log(f"{demo.name}: {len(customers)} customers with their data")
    assert acme is not None
    signup_applications(acme)
    log("Signups: one waiting in the staff review (/admin/), one join request for Acme")
