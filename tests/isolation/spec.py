"""What SPEC §5.5 says ``fastn_app`` may see and write, restated independently of the policies.

The adversarial tests compare what PostgreSQL actually returns with this oracle. It is written
from the specification, not generated from ``tenancy.operations``, so a policy that drifts from
the specification makes the suite fail.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from tenancy.context import region_alias

# Table kinds (SPEC §5.5).
CUSTOMER_DATA = "customer_data"  # rows of one customer: customer_id = app.tenant_id
CUSTOMERS = "customers"  # the customers table: id is the customer
ORG = "org"  # organization-level rows
ORGANIZATIONS = "organizations"  # the organizations table itself

# Restrictive rules on organization-level rows for customer-restricted principals.
OPEN = "open"  # readable and writable by everyone in the organization
ORG_ROLE_ONLY = "org_role_only"  # memberships, invitations, join requests, API keys
WRITES_ORG_ROLE = "writes_org_role"  # roles: readable, editable organization-wide only
# audit: everyone appends, organization-wide reads, nobody updates or deletes (SPEC §14: no
# grant, so PostgreSQL refuses the statement itself rather than match no row)
READS_ORG_ROLE = "reads_org_role"
# embed grants: any context of their customer issues (inserts) and reads them, only
# organization-wide contexts change (revoke) or delete them
CHANGES_ORG_ROLE = "changes_org_role"

SELECT, INSERT, UPDATE, DELETE = "select", "insert", "update", "delete"

ORGANIZATION_ROLE = "organization"
CUSTOMER_ROLE = "customer"


@dataclass(frozen=True)
class Table:
    name: str
    model: str
    kind: str
    plane: str = "control"
    restrict: str = OPEN
    own_rows: bool = False  # memberships: a member reads their own rows in every organization
    immutable_system_rows: bool = False  # roles: system rows are never updated or deleted
    # usage records: a row may name one customer (NULL: organization-wide); a customer's
    # context sees only its own customer's rows, an organization-wide context all of them.
    subject_customer: bool = False

    def granted(self, command: str) -> bool:
        """Does ``fastn_app`` hold the privilege for ``command`` on this table at all?"""
        return not (self.restrict == READS_ORG_ROLE and command in (UPDATE, DELETE))

    @property
    def customer_column(self) -> str | None:
        return {CUSTOMER_DATA: "customer_id", CUSTOMERS: "id"}.get(self.kind)

    @property
    def scope_column(self) -> str:
        """The column every unique index must include (SPEC §5.10)."""
        return "customer_id" if self.plane == "data" else "org_id"


DATA_PLANE_TABLES: tuple[Table, ...] = tuple(
    Table(f"dataplane_{name}", f"dataplane.{model}", CUSTOMER_DATA, plane="data")
    for name, model in (
        ("connection", "Connection"),
        ("workflow", "Workflow"),
        ("executionlog", "ExecutionLog"),
        ("configuration", "Configuration"),
        ("event", "Event"),
    )
)

CONTROL_PLANE_TABLES: tuple[Table, ...] = (
    Table("customers_organization", "customers.Organization", ORGANIZATIONS),
    Table("customers_customer", "customers.Customer", CUSTOMERS),
    Table("customers_customerlimitoverride", "customers.CustomerLimitOverride", CUSTOMER_DATA),
    Table("customers_customerimport", "customers.CustomerImport", ORG, restrict=ORG_ROLE_ONLY),
    Table(
        "customers_emaildomainchange", "customers.EmailDomainChange", ORG, restrict=ORG_ROLE_ONLY
    ),
    Table("roles_role", "roles.Role", ORG, restrict=WRITES_ORG_ROLE, immutable_system_rows=True),
    Table("roles_membership", "roles.Membership", ORG, restrict=ORG_ROLE_ONLY, own_rows=True),
    Table("roles_invitation", "roles.Invitation", ORG, restrict=ORG_ROLE_ONLY),
    Table("roles_joinrequest", "roles.JoinRequest", ORG, restrict=ORG_ROLE_ONLY),
    Table("audit_auditlogentry", "audit.AuditLogEntry", ORG, restrict=READS_ORG_ROLE),
    Table("build_connector", "build.Connector", ORG, restrict=WRITES_ORG_ROLE),
    Table("build_agent", "build.Agent", ORG, restrict=WRITES_ORG_ROLE),
    Table("build_tool", "build.Tool", ORG, restrict=WRITES_ORG_ROLE),
    Table("build_connectorversion", "build.ConnectorVersion", ORG, restrict=WRITES_ORG_ROLE),
    Table("build_agentversion", "build.AgentVersion", ORG, restrict=WRITES_ORG_ROLE),
    Table("build_toolversion", "build.ToolVersion", ORG, restrict=WRITES_ORG_ROLE),
    Table("build_workflowdefinition", "build.WorkflowDefinition", ORG, restrict=WRITES_ORG_ROLE),
    Table(
        "build_workflowdefinitionversion",
        "build.WorkflowDefinitionVersion",
        ORG,
        restrict=WRITES_ORG_ROLE,
    ),
    Table("api_apikey", "api.ApiKey", ORG, restrict=ORG_ROLE_ONLY),
    Table("api_apikeycustomer", "api.ApiKeyCustomer", CUSTOMER_DATA),
    Table("api_usagerecord", "api.UsageRecord", ORG, subject_customer=True),
    Table("api_usagebatch", "api.UsageBatch", ORG, restrict=ORG_ROLE_ONLY),
    Table("billing_upgraderequest", "billing.UpgradeRequest", ORG, restrict=ORG_ROLE_ONLY),
    Table("residency_relocation", "residency.Relocation", CUSTOMER_DATA),
    Table("widget_embedgrant", "widget.EmbedGrant", CUSTOMER_DATA, restrict=CHANGES_ORG_ROLE),
    Table("widget_embeddingorigin", "widget.EmbeddingOrigin", ORG, restrict=WRITES_ORG_ROLE),
    Table("webhooks_webhookendpoint", "webhooks.WebhookEndpoint", ORG, restrict=ORG_ROLE_ONLY),
    Table("webhooks_webhookevent", "webhooks.WebhookEvent", ORG, subject_customer=True),
    Table("webhooks_webhookdelivery", "webhooks.WebhookDelivery", ORG, restrict=ORG_ROLE_ONLY),
    Table("webhooks_webhookattempt", "webhooks.WebhookAttempt", ORG, restrict=ORG_ROLE_ONLY),
    Table("webhooks_limitnotice", "webhooks.LimitNotice", ORG, subject_customer=True),
    Table("sso_ssoconfiguration", "sso.SsoConfiguration", ORG, restrict=ORG_ROLE_ONLY),
)

SCOPED_TABLES: dict[str, Table] = {t.name: t for t in DATA_PLANE_TABLES + CONTROL_PLANE_TABLES}


@dataclass(frozen=True)
class Placement:
    """One scoped table in one database: data-plane tables are probed in every region."""

    table: Table
    region: str | None = None

    @property
    def alias(self) -> str:
        return region_alias(self.region) if self.region else "default"

    @property
    def owner_alias(self) -> str:
        return region_alias(self.region, login="owner") if self.region else "owner"

    @property
    def platform_alias(self) -> str:
        return region_alias(self.region, login="platform") if self.region else "platform"

    @property
    def party_region(self) -> str:
        """Whose customers' rows the probes aim at: the region's, or the first region's."""
        return self.region or settings.TENANCY_REGIONS[0]

    @property
    def id(self) -> str:
        return f"{self.table.name}@{self.region}" if self.region else self.table.name


def placements() -> list[Placement]:
    found = [Placement(t, region) for t in DATA_PLANE_TABLES for region in settings.TENANCY_REGIONS]
    return found + [Placement(t) for t in CONTROL_PLANE_TABLES]


@dataclass(frozen=True)
class Settings:
    """The four session variables as the policies read them (empty strings become NULL)."""

    org_id: uuid.UUID | None
    tenant_id: uuid.UUID | None
    role: str | None
    user_id: uuid.UUID | None = None


def _same(value: Any, wanted: uuid.UUID | None) -> bool:
    return wanted is not None and value is not None and str(value) == str(wanted)


def _restrictive_ok(table: Table, ctx: Settings, row: dict[str, Any], command: str) -> bool:
    org_role = ctx.role == ORGANIZATION_ROLE
    own = table.own_rows and _same(row.get("user_id"), ctx.user_id)
    if table.kind == CUSTOMER_DATA:
        if not (_same(row["customer_id"], ctx.tenant_id) or (ctx.tenant_id is None and org_role)):
            return False
    if table.kind == CUSTOMERS and not (org_role or _same(row["id"], ctx.tenant_id)):
        return False
    if table.subject_customer and not (
        _same(row["subject_customer_id"], ctx.tenant_id) or (ctx.tenant_id is None and org_role)
    ):
        return False
    if table.restrict == ORG_ROLE_ONLY and not (org_role or (own and command == SELECT)):
        return False
    if table.restrict == WRITES_ORG_ROLE and command != SELECT and not org_role:
        return False
    if table.restrict == READS_ORG_ROLE and command == SELECT and not org_role:
        return False
    if table.restrict == CHANGES_ORG_ROLE and command in (UPDATE, DELETE) and not org_role:
        return False
    if table.immutable_system_rows and command in (UPDATE, DELETE) and row.get("is_system"):
        return False
    return True


def visible(table: Table, ctx: Settings, row: dict[str, Any]) -> bool:
    """Would ``fastn_app`` see ``row`` under ``ctx``?"""
    if table.kind == ORGANIZATIONS:
        return True
    permitted = _same(row["org_id"], ctx.org_id) or (
        table.own_rows and _same(row.get("user_id"), ctx.user_id)
    )
    return permitted and _restrictive_ok(table, ctx, row, SELECT)


def writable(table: Table, ctx: Settings, row: dict[str, Any], command: str) -> bool:
    """Would ``fastn_app`` be allowed ``command`` on ``row`` (old row, or new row for INSERT)?"""
    if not table.granted(command):
        return False
    if table.kind == ORGANIZATIONS:
        return _same(row["id"], ctx.org_id)
    if command in (UPDATE, DELETE) and not visible(table, ctx, row):
        return False
    return _same(row["org_id"], ctx.org_id) and _restrictive_ok(table, ctx, row, command)


def updatable_to(table: Table, ctx: Settings, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """UPDATE needs the old row to pass USING and the new row to pass WITH CHECK."""
    return writable(table, ctx, old, UPDATE) and (
        _same(new.get("org_id", new.get("id")), ctx.org_id)
        and _restrictive_ok(table, ctx, new, UPDATE)
    )


@dataclass(frozen=True)
class CompositeKey:
    """A composite foreign key that stops a child from pointing at another scope's parent."""

    child: str
    column: str
    parent: str
    scope_column: str

    @property
    def plane(self) -> str:
        return "data" if self.child.startswith("dataplane_") else "control"

    @property
    def id(self) -> str:
        return f"{self.child}.{self.column}"


COMPOSITE_KEYS: tuple[CompositeKey, ...] = (
    CompositeKey("dataplane_executionlog", "workflow_id", "dataplane_workflow", "customer_id"),
    CompositeKey("dataplane_executionlog", "connection_id", "dataplane_connection", "customer_id"),
    CompositeKey("dataplane_executionlog", "event_id", "dataplane_event", "customer_id"),
    CompositeKey("customers_customerlimitoverride", "customer_id", "customers_customer", "org_id"),
    CompositeKey("roles_membership", "role_id", "roles_role", "org_id"),
    CompositeKey("roles_membership", "restricted_customer_id", "customers_customer", "org_id"),
    CompositeKey("roles_invitation", "role_id", "roles_role", "org_id"),
    CompositeKey("roles_invitation", "restricted_customer_id", "customers_customer", "org_id"),
    CompositeKey("api_apikey", "role_id", "roles_role", "org_id"),
    CompositeKey("api_apikeycustomer", "api_key_id", "api_apikey", "org_id"),
    CompositeKey("api_apikeycustomer", "customer_id", "customers_customer", "org_id"),
    CompositeKey("build_connectorversion", "connector_id", "build_connector", "org_id"),
    CompositeKey("build_agentversion", "agent_id", "build_agent", "org_id"),
    CompositeKey("build_toolversion", "tool_id", "build_tool", "org_id"),
    CompositeKey(
        "build_workflowdefinitionversion", "workflow_id", "build_workflowdefinition", "org_id"
    ),
    CompositeKey("residency_relocation", "customer_id", "customers_customer", "org_id"),
    CompositeKey("widget_embedgrant", "customer_id", "customers_customer", "org_id"),
    CompositeKey("webhooks_webhookdelivery", "endpoint_id", "webhooks_webhookendpoint", "org_id"),
    CompositeKey("webhooks_webhookdelivery", "event_id", "webhooks_webhookevent", "org_id"),
    CompositeKey("webhooks_webhookattempt", "delivery_id", "webhooks_webhookdelivery", "org_id"),
    CompositeKey("sso_ssoconfiguration", "default_role_id", "roles_role", "org_id"),
)
