"""Connections: a customer's credentials for a connector, encrypted at rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from audit import actions
from billing.services import count_limit_guard
from build.models import AuthMethod, Connector
from customers.models import Customer, Organization
from customers.states import customer_require_runnable
from dataplane import outbound
from dataplane.encryption import (
    CredentialsUnreadable,
    decrypt_credentials,
    encrypt_credentials,
)
from dataplane.models import Connection, ConnectionStatus
from dataplane.services.primitives import (
    audit_data_plane,
    require_customer_scope,
    require_writable_customer_scope,
)
from dataplane.services.runs import (
    Enter,
    PlannedStep,
    call_outside_transaction,
    credential_headers,
    execution_log_record,
)
from webhooks import events as webhook_events
from webhooks.services import connection_event_record


def _clean_credentials(
    fields: list[str], values: dict[str, str], *, partial: bool
) -> dict[str, str]:
    cleaned = {name: str(values.get(name) or "").strip() for name in fields}
    errors = {}
    for name, value in cleaned.items():
        if not value and not partial:
            errors[name] = "This credential is required."
        elif any(ch in value for ch in "\r\n\x00"):
            errors[name] = "Line breaks are not allowed in credentials."
        elif len(value) > 4096:
            errors[name] = "At most 4,096 characters."
    if errors:
        raise ValidationError(errors)
    return {name: value for name, value in cleaned.items() if value}


def _stored_credentials(connection: Connection) -> dict[str, str]:
    """The connection's credentials; ones no configured key decrypts refuse the change like
    invalid input, with the same message."""
    try:
        return decrypt_credentials(connection.credentials)
    except CredentialsUnreadable as exc:
        raise ValidationError(str(exc), code="credentials_unreadable") from None


def connection_connect(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    connector: Connector,
    credentials: dict[str, str],
    name: str = "",
    credential_fields: list[str] | None = None,
) -> Connection:
    """Connect ``customer`` to ``connector`` with its credential fields (encrypted at rest)."""
    require_writable_customer_scope(organization=organization, customer=customer)
    fields = list(
        credential_fields if credential_fields is not None else connector.credential_fields
    )
    values = _clean_credentials(fields, credentials, partial=False)
    count_limit_guard(organization=organization, key="connections_per_customer", customer=customer)
    connection = Connection.objects.create(
        org_id=organization.id,
        customer_id=customer.id,
        connector_id=connector.id,
        name=(name or connector.name).strip()[:120],
        status=ConnectionStatus.ACTIVE,
        credentials=encrypt_credentials(values),
    )
    audit_data_plane(
        acting_user,
        actions.CONNECTION_CREATE,
        connection,
        customer,
        after={"connector": str(connector.id), "credential_fields": sorted(values)},
    )
    connection_event_record(
        event_type=webhook_events.CONNECTION_CREATED, connection=connection, customer=customer
    )
    return connection


def connection_update(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    connection: Connection,
    connector: Connector,
    name: str,
    credentials: dict[str, str],
) -> Connection:
    """Rename and replace credentials; a blank field keeps the stored value (a disconnected
    connection needs every field again)."""
    require_writable_customer_scope(organization=organization, customer=customer)
    stored = _stored_credentials(connection)
    fields = list(connector.credential_fields)
    new = _clean_credentials(fields, credentials, partial=True)
    merged = {name: new.get(name) or stored.get(name, "") for name in fields}
    missing = {n: "This credential is required." for n, v in merged.items() if not v}
    if missing:
        raise ValidationError(missing)
    changed = sorted(name for name in fields if merged[name] != stored.get(name))
    connection.name = (name or connection.name).strip()[:120]
    connection.credentials = encrypt_credentials(merged)
    if changed:
        connection.status = ConnectionStatus.ACTIVE
    connection.save(update_fields=["name", "credentials", "status"])
    audit_data_plane(
        acting_user,
        actions.CONNECTION_UPDATE,
        connection,
        customer,
        after={"credential_fields_changed": changed},
    )
    return connection


def connection_disconnect(
    *, acting_user: Any, organization: Organization, customer: Customer, connection: Connection
) -> None:
    """Delete the stored credentials; the connection stays, inactive, until reconnected."""
    require_writable_customer_scope(organization=organization, customer=customer)
    connection.credentials = ""
    connection.status = ConnectionStatus.INACTIVE
    connection.save(update_fields=["credentials", "status"])
    audit_data_plane(acting_user, actions.CONNECTION_DISCONNECT, connection, customer)


def connection_remove(
    *, acting_user: Any, organization: Organization, customer: Customer, connection: Connection
) -> None:
    """Delete the connection with its credentials; its past executions keep no link to it."""
    require_writable_customer_scope(organization=organization, customer=customer)
    audit_data_plane(
        acting_user,
        actions.CONNECTION_DELETE,
        connection,
        customer,
        before={"connector": str(connection.connector_id)},
    )
    connection_event_record(
        event_type=webhook_events.CONNECTION_REMOVED, connection=connection, customer=customer
    )
    connection.delete()


@dataclass
class ConnectionTest:
    status: str
    result: outbound.OutboundResult | None
    message: str


def connection_test(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    connection: Connection,
    connector: Connector,
    enter: Enter,
) -> ConnectionTest:
    """Call the connector's base URL with the credentials and set the connection's status:
    2xx → active, 401/403 → expired, anything else → failed. Logged as an execution.

    The caller holds no transaction: ``enter()`` opens the caller's scope for the checks before
    the call and for the writes after it (``call_outside_transaction``)."""

    def plan() -> PlannedStep:
        require_customer_scope(customer)
        customer_require_runnable(organization=organization, customer=customer)
        if not connection.credentials and connector.auth_method != AuthMethod.NONE:
            raise ValidationError("This connection is disconnected: reconnect it first.")
        if not connector.base_url:
            raise ValidationError(f"{connector.name} declares no base URL to test against.")
        headers = credential_headers(
            auth_method=connector.auth_method, credentials=_stored_credentials(connection)
        )
        return PlannedStep(name="test", url=connector.base_url, method="GET", headers=headers)

    def record(result: outbound.OutboundResult) -> ConnectionTest:
        require_customer_scope(customer)
        if result.ok:
            status = ConnectionStatus.ACTIVE
            message = f"HTTP {result.status_code}: credentials work."
        elif result.status_code in (401, 403):
            status = ConnectionStatus.EXPIRED
            message = f"HTTP {result.status_code}: {connector.name} rejected the credentials."
        else:
            status, message = ConnectionStatus.FAILED, result.error or "The test failed."
        # The connection may have been deleted while the call ran: then the log keeps no link.
        still_there = Connection.objects.filter(id=connection.id).update(status=status)
        connection.status = status
        execution_log_record(
            organization=organization,
            customer=customer,
            connection=connection if still_there else None,
            source="connection_test",
            result=result,
            message=f"Connection test of {connection.name}: {message}",
        )
        audit_data_plane(
            acting_user, actions.CONNECTION_TEST, connection, customer, after={"status": status}
        )
        return ConnectionTest(status, result, message)

    return call_outside_transaction(enter=enter, plan=plan, record=record)
