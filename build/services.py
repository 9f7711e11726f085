"""Writes for connectors, agents and tools (SPEC §3, §4, §9 Build).

Every save that changes something makes a new immutable version row holding a snapshot of the
item; ``current_version`` points at the newest. Deploying records which version is live in test
and in prod; a rollback deploys an earlier version to prod. Provisional organizations cannot
deploy to prod, and suspended organizations cannot write at all. Each write audits.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet

from audit import actions
from audit.services import audit_record
from build.deploys import ENVIRONMENTS, live_version_move
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
from dataplane.models import Connection
from dataplane.selectors import organization_count
from dataplane.services import (
    Enter,
    PlannedStep,
    call_outside_transaction,
    execution_log_record,
)


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

    def items(self) -> QuerySet[Any]:
        """This kind's items of the organization in scope."""
        return self.model.objects.all()  # type: ignore[attr-defined,no-any-return]

    def versions_of(self, item: Any) -> QuerySet[Any]:
        return self.version_model.objects.filter(**{self.parent_field: item})  # type: ignore[attr-defined,no-any-return]

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
    ("name", "description", "auth_method", "credential_fields", "base_url", "extra_hosts"),
    ("connectors.deploy_test", "connectors.deploy_prod"),
    executable=False,
)


def _endpoint_kind(slug: str, label: str, model: type[Model], version_model: type[Model]) -> Kind:
    """Agents and tools: an HTTPS endpoint with an input schema, run from a test panel; their
    ``update`` permission also deploys them."""
    return Kind(
        slug,
        label,
        model,
        version_model,
        label.lower(),
        ("name", "description", "endpoint_url", "input_schema"),
        (f"{slug}.update", f"{slug}.update"),
        executable=True,
    )


AGENTS = _endpoint_kind("agents", "Agent", Agent, AgentVersion)
TOOLS = _endpoint_kind("tools", "Tool", Tool, ToolVersion)
KINDS: dict[str, Kind] = {kind.slug: kind for kind in (CONNECTORS, AGENTS, TOOLS)}

# Credential fields each auth method needs to build its request headers (docs/WORKFLOWS.md).
REQUIRED_CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    AuthMethod.API_KEY: (),
    AuthMethod.OAUTH2: ("access_token",),
    AuthMethod.BASIC: ("username", "password"),
    AuthMethod.NONE: (),
}


MAX_EXTRA_HOSTS = 20
HOST_ENTRY = re.compile(r"^[a-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9a-f:.]+\](:[0-9]{1,5})?$")


def _clean_extra_hosts(values: Any) -> tuple[list[str], str]:
    """The further hosts a connector declares (``host`` or ``host:port``, each one that could
    be called), or the error that refuses them."""
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        return [], "A list of host names."
    hosts = [value.strip().lower() for value in values if value.strip()]
    if len(hosts) > MAX_EXTRA_HOSTS:
        return [], f"At most {MAX_EXTRA_HOSTS} hosts."
    if len(set(hosts)) != len(hosts):
        return [], "Each host once."
    for host in hosts:
        if not HOST_ENTRY.match(host):
            return [], f"{host}: a host name, optionally with :port — no scheme or path."
        try:
            outbound.check_url(f"https://{host}/")
        except outbound.UnsafeURL as exc:
            return [], f"{host}: {exc}"
    return hosts, ""


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
        cleaned["extra_hosts"], hosts_error = _clean_extra_hosts(cleaned["extra_hosts"] or [])
        if hosts_error:
            errors["extra_hosts"] = hosts_error
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


def _audit(acting_user: Any, kind: Kind, verb: str, item: Any, **details: Any) -> None:
    audit_record(
        actor=acting_user,
        action=actions.build_action(kind.singular, verb),
        target_type=kind.singular,
        target_id=item.id,
        **details,
    )


def build_item_create(
    *, acting_user: Any, organization: Organization, kind: Kind, data: dict[str, Any]
) -> Any:
    """Create a connector, agent or tool with its version 1."""
    organization_require_writable(organization=organization)
    cleaned = _validate(kind, data)
    item = kind.items().create(
        org=organization,
        slug=unique_slug(kind.items(), cleaned["name"]),
        current_version=1,
        **cleaned,
    )
    _add_version(kind, item, acting_user)
    _audit(acting_user, kind, "create", item, after={"name": item.name, "version": 1})
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
    locked = kind.items().select_for_update().get(id=item.id)
    for field, value in cleaned.items():
        setattr(locked, field, value)
    if cleaned["name"] != before["name"]:
        locked.slug = unique_slug(kind.items(), cleaned["name"], exclude_id=locked.id)
    locked.current_version += 1
    locked.save()
    _add_version(kind, locked, acting_user)
    changed = sorted(field for field in kind.fields if before[field] != cleaned[field])
    _audit(
        acting_user,
        kind,
        "update",
        item,
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
        # Every customer's connections, those being deleted included: they still use it.
        used = organization_count(
            Connection, customers=Customer.objects.all(), connector_id=item.id
        )
        if used:
            raise ValidationError(
                f"{used} connection(s) still use {item.name}; disconnect them first.",
                code="connector_in_use",
            )
    kind.versions_of(item).delete()
    _audit(
        acting_user,
        kind,
        "delete",
        item,
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
    if not kind.versions_of(item).filter(number=number).exists():
        raise ValidationError(f"{kind.label} {item.name} has no version {number}.")
    move = live_version_move(
        kind.items(), item, environment=environment, number=number, also_save=("updated_at",)
    )
    if move is None:
        return
    audit_record(
        actor=acting_user,
        action=actions.deploy_action(kind.singular, environment, rollback=move.rollback),
        target_type=kind.singular,
        target_id=item.id,
        before={move.field: move.previous},
        after={move.field: number},
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
    enter: Enter,
) -> TestRun:
    """Run an agent or tool from its test panel: POST ``payload`` to the current version's
    endpoint and log the run as an execution of ``customer``, in the customer's region.

    The caller holds no transaction: ``enter()`` opens its scope for the checks before the call
    and for the log after it (``dataplane.services.call_outside_transaction``)."""
    if not kind.executable:
        raise ValueError(f"{kind.label}s have no test panel.")

    def plan() -> PlannedStep:
        customer_require_runnable(organization=organization, customer=customer)
        return PlannedStep(
            name=kind.singular, url=item.endpoint_url, method="POST", headers={}, body=payload
        )

    def record(result: outbound.OutboundResult) -> TestRun:
        summary = f"HTTP {result.status_code}" if result.ok else result.error
        # End users read execution messages in the widget: a member's name, never an email.
        name = str(getattr(acting_user, "full_name", "") or "").strip()
        by = f" by {name}" if name else ""
        log = execution_log_record(
            organization=organization,
            customer=customer,
            source=kind.singular,
            result=result,
            message=(
                f"{kind.label} {item.name} v{item.current_version} (test panel{by}): {summary}"
            ),
        )
        _audit(
            acting_user,
            kind,
            "execute",
            item,
            subject_customer_id=customer.id,
            after={
                "version": item.current_version,
                "execution": str(log.id),
                "status": log.status,
            },
        )
        return TestRun(result=result, execution_id=log.id, region=customer.region)

    return call_outside_transaction(enter=enter, plan=plan, record=record)
