"""Writes for connectors, agents and tools (SPEC §3, §4, §9 Build).

Every save that changes something makes a new immutable version row holding a snapshot of the
item; ``current_version`` points at the newest. Deploying records which version is live in test
and in prod; a rollback deploys an earlier version to prod. Provisional organizations cannot
deploy to prod, and suspended organizations cannot write at all. Each write audits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils import timezone

from audit.services import audit_record
from build.models import (
    Agent,
    AgentVersion,
    AuthMethod,
    Connector,
    ConnectorVersion,
    Tool,
    ToolVersion,
)
from customers.models import Customer, Organization
from customers.slugs import unique_slug
from customers.states import (
    customer_require_runnable,
    organization_require_deployable,
    organization_require_writable,
)
from dataplane import outbound
from tenancy.context import CUSTOMER, ORGANIZATION, context, require_scope

TEST = "test"
PROD = "prod"
ENVIRONMENTS = (TEST, PROD)


@dataclass(frozen=True)
class Kind:
    """One kind of build item: its models, snapshot fields and the keys that guard it."""

    slug: str  # "connectors": URL segment and permission category
    label: str
    model: type[Model]
    version_model: type[Model]
    parent_field: str
    fields: tuple[str, ...]
    deploy_keys: tuple[str, str]  # (test, prod); rollback uses the prod key
    executable: bool

    def key(self, action: str) -> str:
        return f"{self.slug}.{action}"

    def deploy_key(self, environment: str) -> str:
        return self.deploy_keys[ENVIRONMENTS.index(environment)]

    @property
    def singular(self) -> str:
        return self.label.lower()


CONNECTORS = Kind(
    "connectors",
    "Connector",
    Connector,
    ConnectorVersion,
    "connector",
    ("name", "description", "auth_method", "credential_fields", "base_url"),
    ("connectors.deploy_test", "connectors.deploy_prod"),
    executable=False,
)
AGENTS = Kind(
    "agents",
    "Agent",
    Agent,
    AgentVersion,
    "agent",
    ("name", "description", "endpoint_url", "input_schema"),
    ("agents.update", "agents.update"),
    executable=True,
)
TOOLS = Kind(
    "tools",
    "Tool",
    Tool,
    ToolVersion,
    "tool",
    ("name", "description", "endpoint_url", "input_schema"),
    ("tools.update", "tools.update"),
    executable=True,
)
KINDS: dict[str, Kind] = {kind.slug: kind for kind in (CONNECTORS, AGENTS, TOOLS)}

# Credential fields each auth method needs to build its request headers (docs/WORKFLOWS.md).
REQUIRED_CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    AuthMethod.API_KEY: (),
    AuthMethod.OAUTH2: ("access_token",),
    AuthMethod.BASIC: ("username", "password"),
    AuthMethod.NONE: (),
}


def _validate(kind: Kind, data: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {field: data.get(field) for field in kind.fields}
    cleaned["name"] = str(cleaned["name"] or "").strip()
    cleaned["description"] = str(cleaned["description"] or "").strip()
    errors: dict[str, str] = {}
    if not cleaned["name"]:
        errors["name"] = "Enter a name."
    if kind is CONNECTORS:
        if cleaned["auth_method"] not in AuthMethod.values:
            errors["auth_method"] = "Choose an authentication method."
        fields = list(cleaned["credential_fields"] or [])
        missing = [
            f for f in REQUIRED_CREDENTIAL_FIELDS.get(cleaned["auth_method"], ()) if f not in fields
        ]
        if missing:
            label = AuthMethod(cleaned["auth_method"]).label
            errors["credential_fields"] = f"{label} needs the field(s) {', '.join(missing)}."
        if cleaned["auth_method"] == AuthMethod.API_KEY and not fields:
            errors["credential_fields"] = "An API key connector needs at least one field."
        cleaned["credential_fields"] = fields
        cleaned["base_url"] = str(cleaned["base_url"] or "").strip()
        url_field = "base_url"
    else:
        cleaned["endpoint_url"] = str(cleaned["endpoint_url"] or "").strip()
        if not cleaned["endpoint_url"]:
            errors["endpoint_url"] = "Enter the HTTPS endpoint."
        if not isinstance(cleaned["input_schema"], dict):
            errors["input_schema"] = "The input schema is a JSON object."
        url_field = "endpoint_url"
    if cleaned[url_field] and url_field not in errors:
        try:
            outbound.check_url(cleaned[url_field])
        except outbound.UnsafeURL as exc:
            errors[url_field] = str(exc)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _snapshot(kind: Kind, item: Model) -> dict[str, Any]:
    return {field: getattr(item, field) for field in kind.fields}


def _add_version(kind: Kind, item: Any, acting_user: Any) -> Model:
    return kind.version_model.objects.create(  # type: ignore[attr-defined,no-any-return]
        org_id=item.org_id,
        number=item.current_version,
        snapshot=_snapshot(kind, item),
        created_by=acting_user if getattr(acting_user, "pk", None) else None,
        **{kind.parent_field: item},
    )


def build_item_create(
    *, acting_user: Any, organization: Organization, kind: Kind, data: dict[str, Any]
) -> Any:
    """Create a connector, agent or tool with its version 1."""
    organization_require_writable(organization=organization)
    cleaned = _validate(kind, data)
    item = kind.model.objects.create(  # type: ignore[attr-defined]
        org=organization,
        slug=unique_slug(kind.model.objects.all(), cleaned["name"]),
        current_version=1,
        **cleaned,
    )
    _add_version(kind, item, acting_user)
    audit_record(
        actor=acting_user,
        action=f"{kind.singular}.create",
        target_type=kind.singular,
        target_id=item.id,
        after={"name": item.name, "version": 1},
    )
    return item


def build_item_update(
    *, acting_user: Any, organization: Organization, kind: Kind, item: Any, data: dict[str, Any]
) -> bool:
    """Save changes as a new version; returns False (and writes nothing) when nothing changed."""
    organization_require_writable(organization=organization)
    cleaned = _validate(kind, data)
    before = _snapshot(kind, item)
    if all(before[field] == cleaned[field] for field in kind.fields):
        return False
    locked = kind.model.objects.select_for_update().get(id=item.id)  # type: ignore[attr-defined]
    for field, value in cleaned.items():
        setattr(locked, field, value)
    if cleaned["name"] != before["name"]:
        locked.slug = unique_slug(kind.model.objects.all(), cleaned["name"], exclude_id=locked.id)
    locked.current_version += 1
    locked.save()
    _add_version(kind, locked, acting_user)
    changed = sorted(field for field in kind.fields if before[field] != cleaned[field])
    audit_record(
        actor=acting_user,
        action=f"{kind.singular}.update",
        target_type=kind.singular,
        target_id=item.id,
        before={"version": locked.current_version - 1},
        after={"version": locked.current_version, "fields": changed},
    )
    item.refresh_from_db()
    return True


def build_item_delete(
    *, acting_user: Any, organization: Organization, kind: Kind, item: Any
) -> None:
    """Delete an item and its versions. A connector still used by connections is refused."""
    organization_require_writable(organization=organization)
    if kind is CONNECTORS:
        from build.selectors import connector_connection_count

        used = connector_connection_count(connector=item)
        if used:
            raise ValidationError(
                f"{used} connection(s) still use {item.name}; disconnect them first.",
                code="connector_in_use",
            )
    kind.version_model.objects.filter(**{kind.parent_field: item}).delete()  # type: ignore[attr-defined]
    audit_record(
        actor=acting_user,
        action=f"{kind.singular}.delete",
        target_type=kind.singular,
        target_id=item.id,
        before={"name": item.name, "version": item.current_version},
    )
    item.delete()


def build_item_deploy(
    *,
    acting_user: Any,
    organization: Organization,
    kind: Kind,
    item: Any,
    environment: str,
    number: int,
) -> None:
    """Make version ``number`` the one live in ``environment`` (a lower prod number = rollback)."""
    if environment not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {ENVIRONMENTS}")
    organization_require_deployable(organization=organization, environment=environment)
    exists = kind.version_model.objects.filter(  # type: ignore[attr-defined]
        **{kind.parent_field: item}, number=number
    ).exists()
    if not exists:
        raise ValidationError(f"{kind.label} {item.name} has no version {number}.")
    field = f"{environment}_version"
    locked = kind.model.objects.select_for_update().get(id=item.id)  # type: ignore[attr-defined]
    previous = getattr(locked, field)
    if previous == number:
        return
    setattr(locked, field, number)
    locked.save(update_fields=[field, "updated_at"])
    rollback = environment == PROD and previous is not None and number < previous
    audit_record(
        actor=acting_user,
        action=f"{kind.singular}.{'rollback_prod' if rollback else 'deploy_' + environment}",
        target_type=kind.singular,
        target_id=item.id,
        before={field: previous},
        after={field: number},
    )
    item.refresh_from_db()


@dataclass
class TestRun:
    result: outbound.OutboundResult
    execution_id: uuid.UUID
    region: str


def build_item_test(
    *,
    acting_user: Any,
    organization: Organization,
    kind: Kind,
    item: Any,
    customer: Customer,
    payload: dict[str, Any],
) -> TestRun:
    """Run an agent or tool from its test panel: POST ``payload`` to the current version's
    endpoint and record the run as an execution of ``customer``, in the customer's region."""
    from dataplane.models import ExecutionLog, ExecutionStatus

    if not kind.executable:
        raise ValueError(f"{kind.label}s have no test panel.")
    customer_require_runnable(organization=organization, customer=customer)
    result = outbound.request("POST", item.endpoint_url, json_body=payload)
    if result.ok:
        status, summary = ExecutionStatus.COMPLETED, f"HTTP {result.status_code}"
    elif result.outcome == outbound.TIMEOUT:
        status, summary = ExecutionStatus.TIMEOUT, result.error
    else:
        status, summary = ExecutionStatus.FAILED, result.error
    finished = timezone.now()
    scope = require_scope()
    role = CUSTOMER if scope.role == CUSTOMER else ORGANIZATION
    with context(
        org_id=organization.id,
        customer_id=customer.id,
        role=role,
        user_id=scope.user_id,
        region=customer.region,
    ):
        log = ExecutionLog.objects.create(
            org_id=organization.id,
            customer_id=customer.id,
            source=kind.singular,
            status=status,
            started_at=finished - timedelta(milliseconds=result.duration_ms),
            finished_at=finished,
            duration_ms=result.duration_ms,
            message=(
                f"{kind.label} {item.name} v{item.current_version} (test panel by "
                f"{getattr(acting_user, 'email', 'system')}): {summary}"
            )[:2000],
        )
        audit_record(
            actor=acting_user,
            action=f"{kind.singular}.execute",
            target_type=kind.singular,
            target_id=item.id,
            subject_customer_id=customer.id,
            after={"version": item.current_version, "execution": str(log.id), "status": status},
        )
    return TestRun(result=result, execution_id=log.id, region=customer.region)
