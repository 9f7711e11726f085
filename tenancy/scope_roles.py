"""Scope roles: on a region database of its own, customer data is reachable only through a role.

The runtime login (``fastn_app``) is a NOINHERIT member of two NOLOGIN roles that
``tenancy.bootstrap`` creates on every server:

* ``<app>_organization``, organization-wide: ``org_id = app.org_id``;
* ``<app>_customer``, customer-restricted: ``org_id = app.org_id AND customer_id =
  app.tenant_id``, plain equalities the planner merges with the query's own filters on the
  same columns (no ``OR`` to spoil its row estimate).

``tenancy.context`` enters the scope's role with ``set_config('role', …, true)`` in the same
message as the settings, so it costs no round trip and ends with the transaction, like them.
The data-plane tables of such a database have no policy for the runtime login itself: with no
role entered it sees no row and writes none, whatever its settings say (fail-closed by
construction, not by empty settings). Being NOINHERIT, the login gets neither the roles'
privileges nor their policies from membership alone.

The main database, and a region that shares it, keep the settings-only policies of
``tenancy.operations``: there the same connection also serves the control plane.

``ScopeRolePolicies`` follows ``EnableTenantRLS`` for every data-plane table.
"""

from __future__ import annotations

from typing import Any

from tenancy.logins import has_scope_roles, logins
from tenancy.operations import ORG, ORG_WIDE, TENANT, _DatabaseOperation, _rule


def scope_role_statements(table: str) -> list[str]:
    """Replace the runtime login's settings-only policies of the data-plane ``table`` with one
    policy per scope role."""
    names = logins()
    org, customer = names.organization_scope, names.customer_scope
    org_rule = f"org_id = {ORG}"
    return [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {org}, {customer}",
        f"DROP POLICY tenant_org ON {table}",
        f"DROP POLICY tenant_customer ON {table}",
        _rule("scope_organization", table, org, org_rule, restrictive=False),
        _rule(
            "scope_customer",
            table,
            customer,
            f"{org_rule} AND customer_id = {TENANT}",
            restrictive=False,
        ),
    ]


def settings_only_statements(table: str) -> list[str]:
    """What ``scope_role_statements`` replaced, back (the migration's reverse)."""
    names = logins()
    customer_rule = f"customer_id = {TENANT} OR org_id = {ORG_WIDE}"
    return [
        f"DROP POLICY scope_organization ON {table}",
        f"DROP POLICY scope_customer ON {table}",
        _rule("tenant_org", table, names.app, f"org_id = {ORG}", restrictive=False),
        _rule("tenant_customer", table, names.app, customer_rule),
        f"REVOKE ALL ON {table} FROM {names.organization_scope}, {names.customer_scope}",
    ]


class ScopeRolePolicies(_DatabaseOperation):
    """Give a data-plane table's rows to the scope roles, on region databases of their own."""

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__qualname__, [self.model_name], {})

    def _model(self, app_label: str, state: Any, schema_editor: Any) -> Any:
        if not has_scope_roles(schema_editor.connection.alias):
            return None  # a region sharing the main database: the settings-only policies stay
        model = super()._model(app_label, state, schema_editor)
        if model is not None:
            _require_scope_roles(schema_editor)
        return model

    def forwards_statements(self, table: str) -> list[str]:
        return scope_role_statements(table)

    def backwards_statements(self, table: str) -> list[str]:
        return settings_only_statements(table)

    def describe(self) -> str:
        return f"Rows of {self.model_name} are reached through the scope roles"


def _require_scope_roles(schema_editor: Any) -> None:
    names = logins()
    wanted = [names.organization_scope, names.customer_scope]
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY (%s)", [wanted])
        found = {row[0] for row in cursor.fetchall()}
    missing = [role for role in wanted if role not in found]
    if missing:
        raise RuntimeError(
            f"The scope roles {', '.join(missing)} do not exist on this server: run "
            "`python manage.py db_bootstrap` (it creates them) before migrating."
        )
