"""The one context manager through which anything enters a tenant scope (SPEC §5.6)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import psycopg
import psycopg.sql
from django.apps import apps
from django.conf import settings
from django.db import connections, transaction

from tenancy.logins import has_scope_roles, logins

ORGANIZATION = "organization"
CUSTOMER = "customer"
ROLES = (ORGANIZATION, CUSTOMER)
MAIN_ALIAS = "default"

_SET_CONFIG_SQL = (
    "SELECT set_config('app.user_id', %s, true), set_config('app.org_id', %s, true), "
    "set_config('app.tenant_id', %s, true), set_config('app.role', %s, true)"
)


class TenantContextMissing(RuntimeError):
    """A scoped query ran without a scope, or on an alias the scope has not entered.

    Always a programming error: code paths must enter ``tenancy.context`` first.
    """


@dataclass(frozen=True)
class Scope:
    org_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    role: str | None = None
    user_id: uuid.UUID | None = None
    region: str | None = None
    aliases: tuple[str, ...] = field(default=())
    platform: bool = False

    @property
    def is_customer_restricted(self) -> bool:
        return self.role == CUSTOMER


_current: ContextVar[Scope | None] = ContextVar("tenancy_scope", default=None)


def current_scope() -> Scope | None:
    return _current.get()


def require_scope() -> Scope:
    scope = _current.get()
    if scope is None:
        raise TenantContextMissing("This code needs a tenant scope; enter tenancy.context().")
    return scope


def region_alias(region: str, *, login: str = "runtime") -> str:
    """The alias of ``region``'s database for ``login`` (runtime, owner or platform)."""
    try:
        aliases = settings.TENANCY_REGION_ALIASES[region]
    except KeyError:
        raise ValueError(f"Unknown region {region!r}") from None
    return str(getattr(aliases, login))


def region_runtime_aliases() -> dict[str, str]:
    """Region -> runtime alias for every region, in the configured order."""
    return {region: region_alias(region) for region in settings.TENANCY_REGIONS}


def scope_aliases() -> tuple[str, ...]:
    return require_scope().aliases


def _text(value: object) -> str:
    return "" if value is None else str(value)


# --- The scope's settings reach each connection lazily ---------------------------------------
#
# ``context()`` only opens the transactions; the four ``app.*`` settings are written on a
# connection just before the first query that needs them (``sync_scope_settings``, an execute
# wrapper on every runtime alias), in that query's transaction and, where the cursor binds its
# parameters on the client (Django's default), in the same message as the query: one round trip,
# the settings statement first (PostgreSQL runs a message's statements in order, in one
# transaction). A region the request never queries costs nothing, and leaving a nested scope
# costs nothing until the next query. What a connection holds is known only while it is
# certain: the settings are transaction-local, so they are gone when the transaction ended
# (psycopg reports it idle), and a savepoint that was rolled back or released since they were
# written may have undone them — then they are written again.
# Fail-closed either way: a query that reaches PostgreSQL without them sees nothing.

# On a region database of its own the settings also enter the scope's database role
# (``tenancy.scope_roles``): a fifth value, ``set_config('role', …, true)``, the role's name or
# ``none`` (the login itself, which sees no data-plane row there). On the main database the
# fifth value is empty and no role is set.
Values = tuple[str, str, str, str, str]
EMPTY: tuple[str, str, str, str] = ("", "", "", "")
NO_ROLE = "none"
_SET_ROLE_SQL = ", set_config('role', %s, true)"
_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def _initial(alias: str) -> Values:
    """What a connection holds when its transaction has written nothing yet."""
    return (*EMPTY, NO_ROLE if has_scope_roles(alias) else "")


def settings_statement(values: Values) -> tuple[str, list[str]]:
    """The statement writing ``values`` and its parameters."""
    if values[4]:
        return _SET_CONFIG_SQL + _SET_ROLE_SQL, list(values)
    return _SET_CONFIG_SQL, list(values[:4])


@dataclass(frozen=True)
class _Written:
    raw: Any  # the psycopg connection they were written on
    values: Values
    savepoints: tuple[str, ...]  # the savepoints open then


_standalone: ContextVar[bool] = ContextVar("tenancy_standalone_reads", default=False)


@contextmanager
def standalone_reads() -> Iterator[None]:
    """Inside the block, a query on a connection whose transaction has not begun yet runs as a
    transaction of its own, the scope's settings in the same message: no BEGIN and no COMMIT
    round trip. Only a SELECT without ``FOR UPDATE``/``FOR SHARE`` does: anything else runs in
    the transaction. The caller promises plain reads (no locking functions either); under
    READ COMMITTED each statement sees a fresh snapshot anyway, so the rows are those the
    transaction would have seen. On a connection whose transaction has begun (it may hold the
    request's own uncommitted writes) queries run in it, as always."""
    token = _standalone.set(True)
    try:
        yield
    finally:
        _standalone.reset(token)


def _wanted(alias: str) -> Values:
    scope = _current.get()
    if scope is None or scope.platform or alias not in scope.aliases:
        return _initial(alias)
    return (
        _text(scope.user_id),
        _text(scope.org_id),
        _text(scope.customer_id),
        _text(scope.role) if scope.org_id else "",
        scope_role(org_id=scope.org_id, customer_id=scope.customer_id, role=scope.role)
        if has_scope_roles(alias)
        else "",
    )


def scope_role(*, org_id: object, customer_id: object, role: str | None) -> str:
    """The database role a scope enters on a region database of its own: the customer's for
    any scope with a customer, the organization's for an organization-wide scope, else none
    (the login itself, which sees no row there)."""
    names = logins()
    if org_id is None:
        return NO_ROLE
    if customer_id is not None:
        return names.customer_scope
    return names.organization_scope if role == ORGANIZATION else NO_ROLE


def _open_savepoints(connection: Any) -> tuple[str, ...]:
    return tuple(sid for sid in connection.savepoint_ids if sid)


def _held(connection: Any) -> Values | None:
    """The settings the connection certainly holds now, or ``None`` when unsure."""
    written: _Written | None = getattr(connection, "_tenancy_written", None)
    if written is None or written.raw is not connection.connection:
        return _initial(connection.alias)
    if _open_savepoints(connection)[: len(written.savepoints)] != written.savepoints:
        return None  # a savepoint open when they were written is gone: maybe rolled back
    return written.values


def _with_settings_in_message(
    values: Values,
    execute: Callable[..., Any],
    sql: str,
    params: Any,
    many: bool,
    context: dict[str, Any],
) -> Any:
    """Run ``sql`` after the statement writing ``values``, in one message; the cursor is left
    on the query's result."""
    raw = context["connection"].connection
    statement, values_sent = settings_statement(values)
    prefix = statement.replace("%s", "{}").format(
        *(psycopg.sql.Literal(value).as_string(raw) for value in values_sent)
    )
    prefix += "; "
    if params is not None:
        prefix = prefix.replace("%", "%%")  # the query's parameters are bound into it
    result = execute(prefix + sql, params, many, context)
    context["cursor"].cursor.nextset()
    return result


_LOCKING = re.compile(r"\bFOR (UPDATE|NO KEY UPDATE|SHARE|KEY SHARE)\b")


def _plain_read(sql: str) -> bool:
    """A SELECT that takes no row lock: what ``standalone_reads`` may run on its own (anything
    else runs in the transaction, whatever the caller promised)."""
    return sql.lstrip()[:6].upper() == "SELECT" and not _LOCKING.search(sql)


def _carries_settings(many: bool, context: dict[str, Any]) -> bool:
    """Whether the settings can ride in the query's message: a single statement sent as text
    (a cursor binding on the client; not ``executemany``, not a server-side cursor's DECLARE)."""
    return not many and isinstance(context["cursor"].cursor, psycopg.ClientCursor)


def sync_scope_settings(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """Execute wrapper: give the query the scope's settings when the connection lacks them."""
    connection = context["connection"]
    raw = connection.connection
    idle = raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    if idle:
        connection._tenancy_written = None  # the transaction that held them has ended
    if getattr(connection, "_tenancy_writing", False) or sql.startswith(_TRANSACTION_CONTROL):
        return execute(sql, params, many, context)
    wanted = _wanted(connection.alias)
    if _held(connection) == wanted:
        return execute(sql, params, many, context)
    if not _carries_settings(many, context):
        connection._tenancy_writing = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(*settings_statement(wanted))
        finally:
            connection._tenancy_writing = False
        connection._tenancy_written = _Written(raw, wanted, _open_savepoints(connection))
        return execute(sql, params, many, context)
    if idle and not raw.autocommit and _standalone.get() and _plain_read(sql):
        raw.autocommit = True  # this one statement is its own transaction: nothing stays
        try:
            return _with_settings_in_message(wanted, execute, sql, params, many, context)
        finally:
            raw.autocommit = False
    # Noted only once the message ran: after a failure the connection holds what it held
    # before (or the savepoint rollback that must follow undoes it), which is not ``wanted``.
    savepoints = _open_savepoints(connection)
    result = _with_settings_in_message(wanted, execute, sql, params, many, context)
    if raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        connection._tenancy_written = _Written(raw, wanted, savepoints)
    return result


def install_scope_settings(sender: Any, connection: Any, **_: Any) -> None:
    """``connection_created`` receiver: runtime aliases get the wrapper (once per wrapper)."""
    runtime = {MAIN_ALIAS, *region_runtime_aliases().values()}
    if connection.alias in runtime and sync_scope_settings not in connection.execute_wrappers:
        connection.execute_wrappers.append(sync_scope_settings)


def _customer_region(customer_id: uuid.UUID) -> str | None:
    """The customer's region, read from ``settings.TENANCY_CUSTOMER_MODEL``'s table (tenancy
    knows the domain's models only by name, as Django knows ``AUTH_USER_MODEL``)."""
    table = apps.get_model(settings.TENANCY_CUSTOMER_MODEL)._meta.db_table
    with connections[MAIN_ALIAS].cursor() as cursor:
        cursor.execute(
            f"SELECT region FROM {table} WHERE id = %s",
            [str(customer_id)],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _as_uuid(value: uuid.UUID | str | None) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


@contextmanager
def context(
    *,
    org_id: uuid.UUID | str | None = None,
    customer_id: uuid.UUID | str | None = None,
    role: str = ORGANIZATION,
    user_id: uuid.UUID | str | None = None,
    region: str | None = None,
    savepoint: bool = True,
) -> Iterator[Scope]:
    """Enter a tenant scope for the duration of the block.

    Opens a transaction (or savepoint) on the main alias first, then on every region alias the
    scope may touch: the customer's region for a customer scope, every region for an
    organization-wide scope, none without an organization. The settings are written on each
    connection before its first query in the scope (``sync_scope_settings``); they are
    transaction-local, and after the block the next query gets the previous scope's again, so
    nesting never leaks. An exception rolls the transactions back.

    Nested in another scope, the block is a savepoint on each database the outer scope has
    entered; ``savepoint=False`` spares the main database's (the console's request scope,
    entered inside the user's, has nothing there to keep if it fails: an exception out of it
    rolls back the user's scope too).
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    org = _as_uuid(org_id)
    customer = _as_uuid(customer_id)
    user = _as_uuid(user_id)
    if customer is not None and org is None:
        raise ValueError("A customer scope needs its organization.")
    if role == CUSTOMER and customer is None:
        raise ValueError("A customer-restricted scope needs a customer.")
    previous = _current.get()
    if previous is not None and previous.platform:
        raise RuntimeError("A tenant scope cannot be entered inside the platform scope.")

    with ExitStack() as stack:
        stack.enter_context(transaction.atomic(using=MAIN_ALIAS, savepoint=savepoint))
        draft = Scope(
            org_id=org, customer_id=customer, role=role, user_id=user, aliases=(MAIN_ALIAS,)
        )
        token = _current.set(draft)
        try:
            if org is None:
                wanted: list[str] = []
            elif customer is not None:
                # Read under the draft scope: the customer row is the organization's.
                region = region or _customer_region(customer)
                wanted = [region_alias(region)] if region else []
            else:
                wanted = list(region_runtime_aliases().values())
        finally:
            _current.reset(token)
        extra = [alias for alias in dict.fromkeys(wanted) if alias != MAIN_ALIAS]
        scope = Scope(
            org_id=org,
            customer_id=customer,
            role=role,
            user_id=user,
            region=region,
            aliases=(MAIN_ALIAS, *extra),
        )
        for alias in extra:
            stack.enter_context(transaction.atomic(using=alias))
        token = _current.set(scope)
        try:
            yield scope
        finally:
            _current.reset(token)


@contextmanager
def platform_scope() -> Iterator[Scope]:
    """The staff admin's explicit, unfiltered scope: queries go to the ``platform`` aliases.

    ``fastn_platform`` has its own policies (control plane: every row; data plane: read only).
    """
    previous = _current.get()
    if previous is not None and not previous.platform:
        raise RuntimeError("The platform scope cannot be entered inside a tenant scope.")
    token = _current.set(Scope(platform=True, aliases=("platform",)))
    try:
        yield _current.get()  # type: ignore[misc]
    finally:
        _current.reset(token)


@contextmanager
def atomic() -> Iterator[None]:
    """A transaction (savepoint) on every alias of the current scope."""
    scope = require_scope()
    with ExitStack() as stack:
        for alias in scope.aliases:
            stack.enter_context(transaction.atomic(using=alias))
        yield


def on_commit(func: Callable[[], Any]) -> None:
    """Run ``func`` after the scope's main transaction commits (side effects: Celery, email)."""
    scope = require_scope()
    transaction.on_commit(func, using=scope.aliases[0])


def mark_rollback() -> None:
    """Mark every transaction of the current scope for rollback (used on 5xx responses)."""
    scope = _current.get()
    if scope is None:
        return
    for alias in scope.aliases:
        if connections[alias].in_atomic_block:
            transaction.set_rollback(True, using=alias)
