"""The permission catalog and the system roles (SPEC §4), declared once.

Keys read ``resource.action``. The Organization model's ``Meta.permissions`` is generated from
``PERMISSIONS`` (codenames use ``__`` for the dot), so the database holds exactly these keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Permission:
    key: str
    description: str

    @property
    def category(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def action(self) -> str:
        return self.key.split(".", 1)[1]

    @property
    def codename(self) -> str:
        return codename(self.key)


def codename(key: str) -> str:
    """The django-guardian codename of a catalog key (``customers.read`` -> ``customers__read``)."""
    return key.replace(".", "__")


CATEGORIES: dict[str, str] = {
    "connectors": "Connectors",
    "connections": "Connections",
    "workflows": "Workflows",
    "agents": "Agents",
    "tools": "Tools",
    "customers": "Customers",
    "executions": "Executions",
    "organization": "Organization",
    "billing": "Billing",
}

PERMISSIONS: tuple[Permission, ...] = (
    Permission("connectors.create", "Create connectors"),
    Permission("connectors.read", "View connectors and their versions"),
    Permission("connectors.update", "Edit connectors (each save makes a new version)"),
    Permission("connectors.delete", "Delete connectors"),
    Permission("connectors.deploy_test", "Deploy a connector version to test"),
    Permission("connectors.deploy_prod", "Deploy a connector version to production"),
    Permission("connections.create", "Connect a customer to a connector"),
    Permission("connections.read", "View connections and configuration"),
    Permission("connections.update", "Edit connections and configuration values"),
    Permission("connections.delete", "Disconnect and delete stored credentials"),
    Permission("connections.execute", "Test a connection against its service"),
    Permission("connections.share", "Issue connect links and embed tokens for a customer"),
    Permission("workflows.create", "Create workflows"),
    Permission("workflows.read", "View workflows and their versions"),
    Permission("workflows.update", "Edit and enable or disable workflows"),
    Permission("workflows.delete", "Delete workflows"),
    Permission("workflows.execute", "Run workflows and ingest events through the API"),
    Permission("workflows.deploy_test", "Deploy a workflow version to test"),
    Permission("workflows.deploy_prod", "Deploy a workflow version to production"),
    Permission("agents.create", "Create agents"),
    Permission("agents.read", "View agents and their versions"),
    Permission("agents.update", "Edit, deploy and roll back agents"),
    Permission("agents.delete", "Delete agents"),
    Permission("agents.execute", "Run an agent from its test panel"),
    Permission("tools.create", "Create tools"),
    Permission("tools.read", "View tools and their versions"),
    Permission("tools.update", "Edit, deploy and roll back tools"),
    Permission("tools.delete", "Delete tools"),
    Permission("tools.execute", "Run a tool from its test panel"),
    Permission("customers.create", "Create customers"),
    Permission("customers.read", "View customers and export their data"),
    Permission("customers.update", "Edit, activate and suspend customers"),
    Permission("customers.delete", "Delete customers and all their data"),
    Permission("executions.read", "View execution logs"),
    Permission(
        "organization.manage_members", "Manage people, invitations, join requests and audit"
    ),
    Permission("organization.manage_roles", "Create, edit and delete custom roles"),
    Permission("organization.manage_settings", "Change settings, API keys and data residency"),
    Permission("billing.read", "View plan, usage and limits"),
    Permission("billing.manage", "Change customer limits and request plan upgrades"),
)

ALL_KEYS: frozenset[str] = frozenset(p.key for p in PERMISSIONS)
BY_KEY: dict[str, Permission] = {p.key: p for p in PERMISSIONS}


def django_permissions() -> list[tuple[str, str | Any]]:
    """``Meta.permissions`` for the Organization model."""
    return [(p.codename, p.description) for p in PERMISSIONS]


def by_category(
    keys: frozenset[str] | set[str] | None = None,
) -> list[tuple[str, list[Permission]]]:
    """The catalog grouped by category, optionally only ``keys``."""
    grouped: list[tuple[str, list[Permission]]] = []
    for category, label in CATEGORIES.items():
        items = [
            p for p in PERMISSIONS if p.category == category and (keys is None or p.key in keys)
        ]
        grouped.append((label, items))
    return grouped


def _keys(*categories_actions: str) -> frozenset[str]:
    keys = frozenset(categories_actions)
    unknown = keys - ALL_KEYS
    if unknown:
        raise ValueError(f"Unknown permission keys: {sorted(unknown)}")
    return keys


def _key(key: str) -> str:
    (checked,) = _keys(key)
    return checked


# The keys code names on its own (the others appear only in the catalog and as data).
MANAGE_MEMBERS = _key("organization.manage_members")
MANAGE_ROLES = _key("organization.manage_roles")
MANAGE_SETTINGS = _key("organization.manage_settings")
BILLING_MANAGE = _key("billing.manage")
# Not a grant: only the organization's owner holds it (transfer ownership, delete the
# organization). ``has_permission`` accepts it beside the catalog's keys.
OWNER_ONLY = "organization.owner"
# What a member limited to one customer may read outside that customer's pages.
READABLE_WHEN_RESTRICTED = _keys("connectors.read", "agents.read", "tools.read")
# What no principal limited to one customer (or to selected customers) ever holds, whatever
# its role grants: billing (limit overrides, plan changes) belongs to the whole organization.
NEVER_WHEN_RESTRICTED = _keys(BILLING_MANAGE)

_READS = _keys(
    "connectors.read",
    "connections.read",
    "workflows.read",
    "agents.read",
    "tools.read",
    "customers.read",
    "executions.read",
)


@dataclass(frozen=True)
class SystemRole:
    key: str
    name: str
    description: str
    permissions: frozenset[str]
    customer_restricted: bool = False
    assignable: bool = True


OWNER = "owner"
ADMIN = "admin"
DEVELOPER = "developer"
OPERATOR = "operator"
VIEWER = "viewer"
END_USER = "end_user"

SYSTEM_ROLES: tuple[SystemRole, ...] = (
    SystemRole(
        OWNER, "Owner", "Everything, including ownership and deletion.", ALL_KEYS, assignable=False
    ),
    SystemRole(ADMIN, "Admin", "Everything except transferring ownership.", ALL_KEYS),
    SystemRole(
        DEVELOPER,
        "Developer",
        "Builds and deploys; no members, roles, settings or billing.",
        frozenset(k for k in ALL_KEYS if not k.startswith(("organization.", "billing."))),
    ),
    SystemRole(
        OPERATOR,
        "Operator",
        "Runs workflows and manages connections and customers.",
        _READS
        | _keys(
            "connections.create",
            "connections.update",
            "connections.delete",
            "connections.execute",
            "connections.share",
            "workflows.execute",
            "workflows.deploy_test",
            "agents.execute",
            "tools.execute",
            "customers.create",
            "customers.update",
        ),
    ),
    SystemRole(VIEWER, "Viewer", "Reads everything a customer list shows.", _READS),
    SystemRole(
        END_USER,
        "End User",
        "A customer's own user: that customer's connections, executions and agents.",
        _keys(
            "connectors.read",
            "connections.create",
            "connections.read",
            "connections.update",
            "connections.delete",
            "connections.execute",
            "executions.read",
            "agents.read",
            "agents.execute",
        ),
        customer_restricted=True,
    ),
)

SYSTEM_ROLES_BY_KEY: dict[str, SystemRole] = {role.key: role for role in SYSTEM_ROLES}
