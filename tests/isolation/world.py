"""The isolation world: two committed organizations with rows in every scoped table in every
region, and the contexts the adversarial tests run in.

It is not the suite's world (``tests/world.py``, owner / teammates / outsider for feature tests):
the probes attack parties (a customer in a region), need a row of every scoped table for each,
and run without a ``django_db`` mark after the transactional tests, so this world is built on
its own, from the same factories.

Acme has customers A and B in every region, Globex has customer G in every region: A versus B is
"another customer of the same organization", A versus G "another organization".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from api.models import ApiKey, ApiKeyCustomer, UsageBatch, UsageRecord
from billing.models import UpgradeRequest
from build.models import Agent, AgentVersion, Connector, ConnectorVersion, Tool, ToolVersion
from customers.models import (
    Customer,
    CustomerImport,
    CustomerLimitOverride,
    EmailDomainChange,
    Organization,
    Plan,
)
from dataplane.events import event_drafts, events_record
from residency.models import Relocation, RelocationState
from roles import catalog
from roles.models import Invitation, JoinRequest, Membership, Role
from sso.models import SsoConfiguration
from tenancy.context import ORGANIZATION, context, scope_role, settings_statement
from tenancy.logins import has_scope_roles
from tests.factories import make_customer, make_customer_data, make_member, make_org, make_user
from tests.isolation.spec import CUSTOMER_ROLE, ORGANIZATION_ROLE, Placement, Settings
from webhooks.models import (
    LimitNotice,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from widget.models import EmbeddingOrigin, EmbedGrant, EmbedGrantKind

ACME, GLOBEX = "acme", "globex"
PARTIES = {"A": ACME, "B": ACME, "G": GLOBEX}


@dataclass(frozen=True)
class Party:
    key: str
    org_id: uuid.UUID
    customer_id: uuid.UUID
    region: str


@dataclass
class IsolationWorld:
    orgs: dict[str, Organization]
    parties: dict[tuple[str, str], Party]
    end_user: Membership
    end_user_elsewhere: Membership
    outsider_user_id: uuid.UUID
    rows_cache: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)

    def party(self, key: str, region: str) -> Party:
        return self.parties[(region, key)]

    def org_id(self, name: str) -> uuid.UUID:
        return self.orgs[name].id

    def rebuild(self) -> None:
        self.__dict__.update(build_world().__dict__)


def _org_level_rows(org: Organization, customers: list[Customer]) -> None:
    """Rows of every organization-level table the factories do not already write."""
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        role = Role.objects.create(org=org, name="Custom isolation role", permissions=[])
        Invitation.objects.create(
            org=org,
            email=f"invitee@{org.slug}.test",
            role=role,
            expires_at=timezone.now() + timedelta(days=3),
        )
        JoinRequest.objects.create(org=org, email=f"asker@{org.slug}.test")
        EmailDomainChange.objects.create(
            org=org, domain=f"{org.slug}-next.test", sent_to=f"it@{org.slug}-next.test"
        )
        connector = Connector.objects.get(slug="slack")
        ConnectorVersion.objects.create(org=org, connector=connector, number=1, snapshot={})
        agent = Agent.objects.create(
            org=org, name="Agent", slug="agent", endpoint_url="https://agent.example.test/"
        )
        AgentVersion.objects.create(org=org, agent=agent, number=1, snapshot={})
        tool = Tool.objects.create(
            org=org, name="Tool", slug="tool", endpoint_url="https://tool.example.test/"
        )
        ToolVersion.objects.create(org=org, tool=tool, number=1, snapshot={})
        key = ApiKey.objects.create(
            org=org,
            name="Key",
            prefix=f"fsk_live_{org.id.hex}",
            secret_hash=uuid.uuid4().hex,
            role=role,
            all_customers=False,
        )
        UsageRecord.objects.create(org=org, day=date.today(), kind="api_call", count=3)
        UsageBatch.objects.create(org=org, batch_key=f"batch-{uuid.uuid4().hex}")
        UpgradeRequest.objects.create(
            org=org, current_plan=org.plan, requested_plan=Plan.objects.exclude(pk=org.plan_id)[0]
        )
        _webhook_rows(org, customers)
        SsoConfiguration.objects.create(
            org=org,
            issuer=f"https://login.{org.slug}.example.test",
            client_id="isolation",
            client_secret_encrypted="",
            default_role=role,
        )
        CustomerImport.objects.create(org=org, filename="customers.csv", rows=[], total_rows=0)
        EmbeddingOrigin.objects.create(org=org, origin=f"https://{org.slug}.example.test")
        for customer in customers:
            CustomerLimitOverride.objects.create(
                org=org, customer=customer, limit_key="events_per_day", value=42
            )
            ApiKeyCustomer.objects.create(org=org, api_key=key, customer=customer)
            Relocation.objects.create(
                org=org,
                customer=customer,
                from_region=customer.region,
                to_region=customer.region,
                previous_status=customer.status,
                state=RelocationState.DONE,
            )
            UsageRecord.objects.create(
                org=org, subject_customer_id=customer.id, day=date.today(), kind="event", count=5
            )
            EmbedGrant.objects.create(
                org=org,
                customer=customer,
                kind=EmbedGrantKind.CONNECT_LINK,
                issued_by=org.owner,
                expires_at=timezone.now() + timedelta(days=7),
            )


def _webhook_rows(org: Organization, customers: list[Customer]) -> None:
    """An endpoint with a delivery and its attempt; an event and a limit notice organization-
    wide and for each customer."""
    now = timezone.now()
    endpoint = WebhookEndpoint.objects.create(
        org=org, url="https://hooks.example.test/", event_types=["customer.created"]
    )
    for subject in [None, *(c.id for c in customers)]:
        event = WebhookEvent.objects.create(
            org=org, subject_customer_id=subject, event_type="customer.created"
        )
        LimitNotice.objects.create(
            org=org,
            subject_customer_id=subject,
            limit_key="events_per_day",
            level="warning",
            window_start=now,
            window_end=now + timedelta(days=1),
            count=8,
            limit=10,
        )
    delivery = WebhookDelivery.objects.create(org=org, endpoint=endpoint, event=event)
    WebhookAttempt.objects.create(
        org=org, delivery=delivery, number=1, started_at=now, outcome="ok", status_code=200
    )


def build_world() -> IsolationWorld:
    orgs = {ACME: make_org("Acme Isolation"), GLOBEX: make_org("Globex Isolation")}
    parties: dict[tuple[str, str], Party] = {}
    customers: dict[tuple[str, str], Customer] = {}
    by_org: dict[str, list[Customer]] = {ACME: [], GLOBEX: []}
    for region in settings.TENANCY_REGIONS:
        for key, org_name in PARTIES.items():
            org = orgs[org_name]
            customer = make_customer(org, f"{key} {region}", region=region)
            make_customer_data(org, customer)
            with context(org_id=org.id, customer_id=customer.id, role=ORGANIZATION):
                events_record(customer=customer, drafts=event_drafts([("probe", {"n": 1})]))
            by_org[org_name].append(customer)
            customers[(region, key)] = customer
            parties[(region, key)] = Party(key, org.id, customer.id, region)
    for org_name, org in orgs.items():
        _org_level_rows(org, by_org[org_name])
    first = settings.TENANCY_REGIONS[0]
    end_user = make_member(orgs[ACME], catalog.END_USER, customer=customers[(first, "A")])
    elsewhere = make_member(
        orgs[GLOBEX], catalog.END_USER, user=end_user.user, customer=customers[(first, "G")]
    )
    make_member(orgs[ACME], catalog.VIEWER, user=make_user())
    return IsolationWorld(orgs, parties, end_user, elsewhere, outsider_user_id=make_user().pk)


def world_is_intact(isolation_world: IsolationWorld) -> bool:
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM customers_organization WHERE id = ANY(%s::uuid[])",
            [[str(org.id) for org in isolation_world.orgs.values()]],
        )
        return bool(cursor.fetchone()[0] == len(isolation_world.orgs))


# --- Contexts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ctx:
    """A context the probes run in: whose customer, which ``app.role``, or none / stale."""

    name: str
    org: str | None = None
    party: str | None = None
    role: str = ""
    stale: bool = False

    def settings_for(self, isolation_world: IsolationWorld, region: str) -> Settings:
        org_id = isolation_world.org_id(self.org) if self.org else None
        tenant = isolation_world.party(self.party, region).customer_id if self.party else None
        return Settings(org_id=org_id, tenant_id=tenant, role=self.role or None)

    @property
    def expressible(self) -> bool:
        """Can ``tenancy.context`` itself enter this context (a valid role)?"""
        if self.org is None or self.role not in (ORGANIZATION_ROLE, CUSTOMER_ROLE):
            return False
        return self.role != CUSTOMER_ROLE or self.party is not None


CONTEXTS: tuple[Ctx, ...] = (
    Ctx("A-as-organization", ACME, "A", ORGANIZATION_ROLE),
    Ctx("A-as-customer", ACME, "A", CUSTOMER_ROLE),
    Ctx("A-empty-role", ACME, "A", ""),
    Ctx("A-garbage-role", ACME, "A", "organization' OR true --"),
    Ctx("B-as-customer", ACME, "B", CUSTOMER_ROLE),
    Ctx("acme-wide", ACME, None, ORGANIZATION_ROLE),
    Ctx("acme-wide-customer-role", ACME, None, CUSTOMER_ROLE),
    Ctx("acme-wide-garbage-role", ACME, None, "admin"),
    Ctx("G-as-customer", GLOBEX, "G", CUSTOMER_ROLE),
    Ctx("globex-wide", GLOBEX, None, ORGANIZATION_ROLE),
    Ctx("none"),
    Ctx("stale", stale=True),
)

STALE_FROM = CONTEXTS[0]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def set_session_variables(alias: str, values: Settings) -> None:
    """Write ``values`` as ``tenancy.context`` would, with the scope role it would enter on a
    region database of its own (``tenancy.scope_roles``)."""
    role = (
        scope_role(org_id=values.org_id, customer_id=values.tenant_id, role=values.role)
        if has_scope_roles(alias)
        else ""
    )
    written = (
        _text(values.user_id),
        _text(values.org_id),
        _text(values.tenant_id),
        _text(values.role),
        role,
    )
    with connections[alias].cursor() as cursor:
        cursor.execute(*settings_statement(written))


def backend_pid(alias: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def leave_stale_context(isolation_world: IsolationWorld, placement: Placement) -> int:
    """Commit a transaction that ran in context A on the placement's connection; return its
    backend pid so the caller can prove the next transaction runs on the same connection."""
    party = isolation_world.party(STALE_FROM.party or "A", placement.party_region)
    with context(org_id=party.org_id, customer_id=party.customer_id, role=ORGANIZATION):
        with connections[placement.alias].cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {placement.table.name}")
        return backend_pid(placement.alias)


@contextmanager
def probing(isolation_world: IsolationWorld, placement: Placement, ctx: Ctx) -> Iterator[Settings]:
    """A transaction on the placement's alias in ``ctx``, always rolled back at the end."""
    alias = placement.alias
    pid = leave_stale_context(isolation_world, placement) if ctx.stale else None
    values = ctx.settings_for(isolation_world, placement.party_region)
    with transaction.atomic(using=alias):
        if pid is not None:
            assert backend_pid(alias) == pid, "the stale probe must reuse the same connection"
        elif ctx.org is not None:
            set_session_variables(alias, values)
        yield values
        transaction.set_rollback(True, using=alias)


@contextmanager
def all_rolled_back() -> Iterator[None]:
    """Transactions on every runtime alias that are rolled back at the end, so nothing a probe
    writes reaches the committed isolation_world."""
    aliases = ["default", *(a.runtime for a in settings.TENANCY_REGION_ALIASES.values())]
    unique = list(dict.fromkeys(aliases))
    with ExitStack() as stack:
        for alias in unique:
            stack.enter_context(transaction.atomic(using=alias))
        yield
        for alias in unique:
            transaction.set_rollback(True, using=alias)


@contextmanager
def rolled_back(**scope: Any) -> Iterator[None]:
    """``tenancy.context(**scope)`` inside ``all_rolled_back()``."""
    with all_rolled_back(), context(**scope):
        yield


def matrix(placements: list[Placement]) -> list[Any]:
    """Parameters for every (placement, context) pair, with readable ids."""
    return [pytest.param(p, c, id=f"{p.id}-{c.name}") for p in placements for c in CONTEXTS]
