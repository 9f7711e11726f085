"""Migration operations that write the isolation rules next to the tables they protect.

``EnableTenantRLS`` belongs in the same migration that creates a table (SPEC §5.2). It enables
and forces row-level security and writes the policies of SPEC §5.5 for ``fastn_app``, the
``owner_maintenance`` policy for ``fastn_owner`` and ``fastn_platform``'s own policies. Every
setting is read once per statement through a scalar sub-select.

``AddCompositeForeignKey`` adds a ``NOT DEFERRABLE`` foreign key over several columns, e.g.
``(org_id, role_id) → roles_role (org_id, id)``: Django's own foreign keys are single-column and
deferred, so they cannot stop a row from pointing at another tenant's parent.

``RestrictWritesToOrganization`` and ``RestrictToSubjectCustomer`` add one rule to a table that
already has its policies: the way a later migration tightens an existing table (never by
editing the migration that created it). ``AppendOnlyForRuntime`` is the same for a table whose
rows the runtime login may add and read but never change or remove (the audit log).

Both run only on the databases the router migrates the model into.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import router
from django.db.migrations.operations.base import Operation

from tenancy.logins import logins

ORG = "(SELECT NULLIF(current_setting('app.org_id', true), '')::uuid)"
TENANT = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
ROLE = "(SELECT NULLIF(current_setting('app.role', true), ''))"
USER = "(SELECT NULLIF(current_setting('app.user_id', true), '')::uuid)"
# The organization, only in an organization-wide context (no customer, role 'organization').
ORG_WIDE = (
    "(SELECT CASE WHEN NULLIF(current_setting('app.tenant_id', true), '') IS NULL "
    "AND current_setting('app.role', true) = 'organization' "
    "THEN NULLIF(current_setting('app.org_id', true), '')::uuid END)"
)

CUSTOMER_DATA = "customer_data"  # rows that belong to one customer (column customer_id)
CUSTOMERS = "customers"  # the customers table itself
ORG_SCOPED = "org"  # other organization-level rows
ORGANIZATIONS = "organizations"  # the organizations table itself
KINDS = (CUSTOMER_DATA, CUSTOMERS, ORG_SCOPED, ORGANIZATIONS)

# Who may see org-level rows that customer-restricted principals must not.
RESTRICT_NONE = "none"
RESTRICT_ALL = "all"  # memberships, invitations, join requests, API keys
RESTRICT_WRITES = "writes"  # roles: readable, editable only organization-wide
RESTRICT_READS = "reads"  # audit: anyone in the organization appends, only org-wide reads


def _policy(
    name: str,
    table: str,
    to: str,
    *,
    restrictive: bool = False,
    command: str = "ALL",
    using: str | None = None,
    check: str | None = None,
) -> str:
    kind = "RESTRICTIVE" if restrictive else "PERMISSIVE"
    using_sql = f" USING ({using})" if using else ""
    check_sql = f" WITH CHECK ({check})" if check else ""
    return f"CREATE POLICY {name} ON {table} AS {kind} FOR {command} TO {to}{using_sql}{check_sql}"


def _rule(name: str, table: str, to: str, rule: str, *, restrictive: bool = True) -> str:
    """A policy ``FOR ALL`` whose ``rule`` filters the rows read and checks the rows written."""
    return _policy(name, table, to, restrictive=restrictive, using=rule, check=rule)


def policy_statements(
    table: str,
    kind: str,
    *,
    plane: str = "control",
    restrict: str = RESTRICT_NONE,
    own_rows_column: str | None = None,
    immutable_column: str | None = None,
    organizations_table: str = "customers_organization",
) -> list[str]:
    """The SQL that protects ``table``; pure, so the catalog tests can read it too."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    names = logins()
    app = names.app
    sql = [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        _rule("owner_maintenance", table, names.owner, "true", restrictive=False),
        _policy("platform_read", table, names.platform, command="SELECT", using="true")
        if plane == "data"
        else _rule("platform_all", table, names.platform, "true", restrictive=False),
    ]
    if kind == ORGANIZATIONS:
        own = f"id = {ORG}"
        return [
            *sql,
            _policy("org_read", table, app, command="SELECT", using="true"),
            _policy("org_insert", table, app, command="INSERT", check=own),
            _policy("org_update", table, app, command="UPDATE", using=own, check=own),
            _policy("org_delete", table, app, command="DELETE", using=own),
        ]

    sql.append(_rule("tenant_org", table, app, f"org_id = {ORG}", restrictive=False))
    if kind == CUSTOMER_DATA:
        # Equivalent to "customer_id = tenant OR (tenant IS NULL AND role = 'organization')"
        # under the org_id policy, but both arms are index conditions: in a customer's context
        # the second is org_id = NULL and a query relying on the policies alone reads that
        # customer's index entries, not the whole organization's.
        sql.append(
            _rule("tenant_customer", table, app, f"customer_id = {TENANT} OR org_id = {ORG_WIDE}")
        )
    elif kind == CUSTOMERS:
        sql.append(
            _rule("tenant_customer", table, app, f"{ROLE} = 'organization' OR id = {TENANT}")
        )
    if own_rows_column:
        own = f"{own_rows_column} = {USER}"
        sql.append(_policy("own_rows_read", table, app, command="SELECT", using=own))
    org_role = f"{ROLE} = 'organization'"
    if restrict == RESTRICT_ALL and own_rows_column:
        # Members read their own row (the switcher) but change nothing through it: otherwise a
        # customer-restricted member could lift their own restriction or pick another role.
        select_rule = f"{org_role} OR {own_rows_column} = {USER}"
        sql.append(_organization_select(table, select_rule))
        sql += organization_writes_statements(table)
    elif restrict == RESTRICT_ALL:
        sql.append(_rule("organization_role", table, app, org_role))
    elif restrict == RESTRICT_WRITES:
        sql += organization_writes_statements(table)
    elif restrict == RESTRICT_READS:
        sql.append(_organization_select(table, org_role))
        # Anyone in the organization appends; reading, changing and deleting stay org-wide.
        sql += organization_writes_statements(table, ("update", "delete"))
    if immutable_column:
        deleting = (
            f"EXISTS (SELECT 1 FROM {organizations_table} o "
            f"WHERE o.id = {table}.org_id AND o.status = 'deleting')"
        )
        sql += [
            _policy(
                "immutable_update",
                table,
                app,
                restrictive=True,
                command="UPDATE",
                using=f"NOT {immutable_column}",
            ),
            _policy(
                "immutable_delete",
                table,
                app,
                restrictive=True,
                command="DELETE",
                using=f"NOT {immutable_column} OR {deleting}",
            ),
        ]
    return sql


def _organization_select(table: str, rule: str) -> str:
    return _policy(
        "organization_role_select",
        table,
        logins().app,
        restrictive=True,
        command="SELECT",
        using=rule,
    )


def subject_customer_statements(table: str, column: str) -> list[str]:
    """A RESTRICTIVE rule for organization-level rows that may name one customer (``column``,
    NULL for organization-wide rows): a customer's context sees and writes only that customer's
    rows, an organization-wide context every row — the same rule as customer data."""
    rule = f"{column} = {TENANT} OR org_id = {ORG_WIDE}"
    return [_rule("tenant_subject_customer", table, logins().app, rule)]


WRITE_COMMANDS = ("insert", "update", "delete")


def organization_writes_statements(
    table: str, commands: tuple[str, ...] = WRITE_COMMANDS
) -> list[str]:
    """RESTRICTIVE policies: only organization-wide principals insert, update or delete (or
    the ``commands`` named)."""
    rule = f"{ROLE} = 'organization'"
    return [
        _policy(
            f"organization_role_{command}",
            table,
            logins().app,
            restrictive=True,
            command=command.upper(),
            using=rule if command != "insert" else None,
            check=rule if command != "delete" else None,
        )
        for command in commands
    ]


class _DatabaseOperation(Operation):
    """An operation that changes the database only, for one model's databases: subclasses say
    which statements run forwards and backwards for the model's table."""

    reduces_to_sql = True
    reversible = True
    model_name: str

    def state_forwards(self, app_label: str, state: Any) -> None:
        return None

    def forwards_statements(self, table: str) -> list[str]:
        raise NotImplementedError

    def backwards_statements(self, table: str) -> list[str]:
        raise NotImplementedError

    def _model(self, app_label: str, state: Any, schema_editor: Any) -> Any:
        model = state.apps.get_model(app_label, self.model_name)
        if not router.allow_migrate_model(schema_editor.connection.alias, model):
            return None
        return model

    def _execute(
        self,
        app_label: str,
        state: Any,
        schema_editor: Any,
        statements: Callable[[str], list[str]],
    ) -> str | None:
        """Run ``statements(table)`` where the router migrates the model (nowhere else); the
        table, or None where the model does not live."""
        model = self._model(app_label, state, schema_editor)
        if model is None:
            return None
        table: str = model._meta.db_table
        for statement in statements(table):
            schema_editor.execute(statement)
        return table

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._execute(app_label, to_state, schema_editor, self.forwards_statements)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._execute(app_label, from_state, schema_editor, self.backwards_statements)


class EnableTenantRLS(_DatabaseOperation):
    def __init__(self, model_name: str, kind: str, **options: Any) -> None:
        self.model_name = model_name
        self.kind = kind
        self.options = options

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__qualname__, [self.model_name, self.kind], dict(self.options))

    def forwards_statements(self, table: str) -> list[str]:
        return policy_statements(table, self.kind, **self.options)

    def backwards_statements(self, table: str) -> list[str]:
        return [
            "DO $$ DECLARE p record; BEGIN "
            f"FOR p IN SELECT policyname FROM pg_policies WHERE tablename = '{table}' LOOP "
            # %% : the schema editor hands psycopg parameters, so a lone % is a placeholder.
            f"EXECUTE format('DROP POLICY %%I ON {table}', p.policyname); END LOOP; END $$",
            f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
        ]

    def describe(self) -> str:
        return f"Enable row-level security ({self.kind}) on {self.model_name}"


class AddCompositeForeignKey(_DatabaseOperation):
    def __init__(
        self,
        model_name: str,
        name: str,
        columns: list[str],
        to_model: str,
        to_columns: list[str],
        on_delete: str = "NO ACTION",
    ) -> None:
        self.model_name = model_name
        self.name = name
        self.columns = list(columns)
        self.to_model = to_model
        self.to_columns = list(to_columns)
        self.on_delete = on_delete

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "model_name": self.model_name,
            "name": self.name,
            "columns": self.columns,
            "to_model": self.to_model,
            "to_columns": self.to_columns,
        }
        if self.on_delete != "NO ACTION":
            kwargs["on_delete"] = self.on_delete
        return (self.__class__.__qualname__, [], kwargs)

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        target_app, _, target_name = self.to_model.rpartition(".")
        target = to_state.apps.get_model(target_app or app_label, target_name)
        self._execute(
            app_label,
            to_state,
            schema_editor,
            lambda table: [
                f"ALTER TABLE {table} ADD CONSTRAINT {self.name} "
                f"FOREIGN KEY ({', '.join(self.columns)}) "
                f"REFERENCES {target._meta.db_table} ({', '.join(self.to_columns)}) "
                f"ON DELETE {self.on_delete} NOT DEFERRABLE"
            ],
        )

    def backwards_statements(self, table: str) -> list[str]:
        return [f"ALTER TABLE {table} DROP CONSTRAINT {self.name}"]

    def describe(self) -> str:
        return f"Composite foreign key {self.name} on {self.model_name}"


class RestrictWritesToOrganization(_DatabaseOperation):
    """Add the organization-wide-writes rule to a table that already has its tenant policies
    (rows customer-restricted principals may read but never change). ``commands`` narrows it,
    e.g. ``("update", "delete")`` for rows any context of the customer adds but only
    organization-wide principals change (embed grants: issued anywhere, revoked org-wide)."""

    def __init__(self, model_name: str, commands: tuple[str, ...] = WRITE_COMMANDS) -> None:
        self.model_name = model_name
        self.commands = tuple(commands)
        if not set(self.commands) <= set(WRITE_COMMANDS):
            raise ValueError(f"commands must be among {WRITE_COMMANDS}")

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        options = {} if self.commands == WRITE_COMMANDS else {"commands": self.commands}
        return (self.__class__.__qualname__, [self.model_name], options)

    def forwards_statements(self, table: str) -> list[str]:
        return organization_writes_statements(table, self.commands)

    def backwards_statements(self, table: str) -> list[str]:
        return [f"DROP POLICY organization_role_{c} ON {table}" for c in self.commands]

    def describe(self) -> str:
        return f"Only organization-wide principals write {self.model_name}"


class RestrictToSubjectCustomer(_DatabaseOperation):
    """Add the customer rule to an organization-level table whose rows may name one customer
    (e.g. usage records: a customer-restricted principal sees only its own customer's)."""

    def __init__(self, model_name: str, column: str) -> None:
        self.model_name = model_name
        self.column = column

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__qualname__, [self.model_name, self.column], {})

    def forwards_statements(self, table: str) -> list[str]:
        return subject_customer_statements(table, self.column)

    def backwards_statements(self, table: str) -> list[str]:
        return [f"DROP POLICY tenant_subject_customer ON {table}"]

    def describe(self) -> str:
        return f"Customer rule on {self.model_name}.{self.column}"


def append_only_statements(table: str) -> list[str]:
    """Take UPDATE and DELETE from ``fastn_app`` on ``table``: the grants, and every policy of
    its that covers them. The organization rule stays, split into its SELECT and INSERT halves;
    the owner's and the platform's policies and grants are untouched."""
    app, org_match = logins().app, f"org_id = {ORG}"
    return [
        f"REVOKE UPDATE, DELETE ON {table} FROM {app}",
        f"DROP POLICY IF EXISTS organization_role_update ON {table}",
        f"DROP POLICY IF EXISTS organization_role_delete ON {table}",
        f"DROP POLICY tenant_org ON {table}",
        _policy("tenant_org_select", table, app, command="SELECT", using=org_match),
        _policy("tenant_org_insert", table, app, command="INSERT", check=org_match),
    ]


class AppendOnlyForRuntime(_DatabaseOperation):
    """Make an organization-level table append-only for the runtime login (SPEC §14: audit).

    Fails the migration if a policy of the runtime login still covers UPDATE or DELETE
    afterwards (a rule this operation does not know), rather than leave a way to rewrite rows.
    """

    reduces_to_sql = False

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__qualname__, [self.model_name], {})

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        table = self._execute(app_label, to_state, schema_editor, append_only_statements)
        if table is None:
            return
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT policyname FROM pg_policies WHERE tablename = %s AND %s = ANY (roles) "
                "AND cmd IN ('ALL', 'UPDATE', 'DELETE')",
                [table, logins().app],
            )
            left = [row[0] for row in cursor.fetchall()]
        if left:
            raise RuntimeError(f"{table}: policies still let {logins().app} change rows: {left}")

    def backwards_statements(self, table: str) -> list[str]:
        app = logins().app
        return [
            f"DROP POLICY tenant_org_select ON {table}",
            f"DROP POLICY tenant_org_insert ON {table}",
            _rule("tenant_org", table, app, f"org_id = {ORG}", restrictive=False),
            # Changes come back organization-wide only: never wider than before this operation.
            *organization_writes_statements(table, ("update", "delete")),
            f"GRANT UPDATE, DELETE ON {table} TO {app}",
        ]

    def describe(self) -> str:
        return f"Rows of {self.model_name} are append-only for the runtime login"
