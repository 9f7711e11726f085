"""Writes for connectors, agents, tools and workflow definitions (SPEC §3, §4, §9 Build, §11).

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
from urllib.parse import urlsplit

from django.conf import settings
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
    WorkflowDefinition,
    WorkflowDefinitionVersion,
)
from customers.models import Customer, Organization
from customers.slugs import unique_slug
from customers.states import (
    customer_require_runnable,
    organization_require_deployable,
    organization_require_writable,
)
from dataplane import outbound
from dataplane.definitions import validate_workflow_definition
from dataplane.encryption import decrypt_credentials, encrypt_credentials
from dataplane.models import Connection, Workflow
from dataplane.selectors import organization_count
from dataplane.services import (
    Enter,
    PlannedStep,
    call_outside_transaction,
    execution_log_record,
)

# What an OAuth 2.0 connector declares for the authorization-code flow (versioned; the client
# secret is stored encrypted on the connector only, never in a version's snapshot).
OAUTH_FIELDS = ("authorize_url", "token_url", "scopes", "client_id")
OAUTH_SECRET_FIELD = "client_secret"


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
    (
        "name",
        "description",
        "auth_method",
        "credential_fields",
        "base_url",
        "extra_hosts",
        *OAUTH_FIELDS,
    ),
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
# Workflow definitions (SPEC §11): customers enable them; a run executes the version deployed
# to its environment.
WORKFLOWS = Kind(
    "workflows",
    "Workflow",
    WorkflowDefinition,
    WorkflowDefinitionVersion,
    "workflow",
    ("name", "description", "definition"),
    ("workflows.deploy_test", "workflows.deploy_prod"),
    executable=False,
)
KINDS: dict[str, Kind] = {kind.slug: kind for kind in (CONNECTORS, AGENTS, TOOLS, WORKFLOWS)}

# Credential fields each auth method needs to build its request headers (docs/WORKFLOWS.md);
# an OAuth 2.0 connector with an authorize URL gets its access token from the provider instead.
REQUIRED_CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    AuthMethod.API_KEY: (),
    AuthMethod.OAUTH2: ("access_token",),
    AuthMethod.BASIC: ("username", "password"),
    AuthMethod.NONE: (),
}
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3


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


def browser_url_refusal(url: str) -> str:
    """Why ``url`` cannot be a page users are sent to (an authorize URL): https only, plain
    http only to localhost while ``DEBUG``; ``""`` when it can."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return "Not a valid URL."
    if not host:
        return "The URL needs a host name."
    if parts.username or parts.password:
        return "Put no credentials in the URL."
    if parts.scheme == "https" or (
        parts.scheme == "http" and settings.DEBUG and host in outbound.LOCAL_HOSTS
    ):
        return ""
    return "Only https:// URLs (plain http:// only to localhost while DEBUG is on)."


def _clean_oauth(cleaned: dict[str, Any], errors: dict[str, str]) -> None:
    """The authorization-code fields of an OAuth 2.0 connector: both URLs and the client id
    together, the token URL one the outbound guard lets the platform call (it is sent the
    client secret and the codes); other methods keep none of them."""
    for name in OAUTH_FIELDS:
        cleaned[name] = str(cleaned.get(name) or "").strip()
    if cleaned["auth_method"] != AuthMethod.OAUTH2:
        cleaned.update(dict.fromkeys(OAUTH_FIELDS, ""))
        return
    scopes = re.split(r"[,\s]+", cleaned["scopes"])
    cleaned["scopes"] = " ".join(scope for scope in scopes if scope)
    if not all(SCOPE_TOKEN.match(scope) for scope in cleaned["scopes"].split()):
        errors["scopes"] = "Scopes are separated by spaces and contain no quotes or backslashes."
    if any(ch in cleaned["client_id"] for ch in "\r\n\x00"):
        errors["client_id"] = "Line breaks are not allowed."
    if not any(cleaned[name] for name in OAUTH_FIELDS):
        return  # a pasted access token, as before the authorization-code flow
    for name, label in (("authorize_url", "authorize URL"), ("token_url", "token URL")):
        if not cleaned[name]:
            errors[name] = f"The authorization-code flow needs the provider's {label}."
    if not cleaned["client_id"]:
        errors["client_id"] = "The authorization-code flow needs the client ID."
    if cleaned["authorize_url"] and (refusal := browser_url_refusal(cleaned["authorize_url"])):
        errors["authorize_url"] = refusal
    if cleaned["token_url"]:
        try:
            outbound.check_url(cleaned["token_url"])
        except outbound.UnsafeURL as exc:
            errors["token_url"] = str(exc)


def _client_secret(kind: Kind, data: dict[str, Any]) -> str:
    """A new client secret typed in (blank keeps the stored one); refused when it cannot be a
    header value."""
    if kind is not CONNECTORS or data.get("auth_method") != AuthMethod.OAUTH2:
        return ""
    secret = str(data.get(OAUTH_SECRET_FIELD) or "").strip()
    if any(ch in secret for ch in "\r\n\x00") or len(secret) > 4096:
        raise ValidationError({OAUTH_SECRET_FIELD: "One line of at most 4,096 characters."})
    return secret


def _validate(kind: Kind, data: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {field: data.get(field) for field in kind.fields}
    cleaned["name"] = str(cleaned["name"] or "").strip()
    cleaned["description"] = str(cleaned["description"] or "").strip()
    errors: dict[str, Any] = {}
    if not cleaned["name"]:
        errors["name"] = "Enter a name."
    if kind is WORKFLOWS:
        try:
            connectors = {connector.slug: connector for connector in Connector.objects.all()}
            cleaned["definition"] = validate_workflow_definition(
                cleaned["definition"], connectors=connectors
            )
        except ValidationError as exc:
            errors["definition"] = exc.messages
        if errors:
            raise ValidationError(errors)
        return cleaned
    if kind is CONNECTORS:
        if cleaned["auth_method"] not in AuthMethod.values:
            errors["auth_method"] = "Choose an authentication method."
        _clean_oauth(cleaned, errors)
        fields = list(cleaned["credential_fields"] or [])
        required = REQUIRED_CREDENTIAL_FIELDS.get(cleaned["auth_method"], ())
        if cleaned.get("authorize_url"):
            required = ()
        missing = [f for f in required if f not in fields]
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


def connector_client_secret(connector: Any) -> str:
    """The connector's OAuth client secret in clear (``""`` when none is stored); raises
    ``CredentialsUnreadable`` when no configured key decrypts it."""
    stored = getattr(connector, OAUTH_SECRET_FIELD, "")
    return decrypt_credentials(stored).get(OAUTH_SECRET_FIELD, "") if stored else ""


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
    secret = _client_secret(kind, data)
    if secret:
        cleaned[OAUTH_SECRET_FIELD] = encrypt_credentials({OAUTH_SECRET_FIELD: secret})
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
    secret = _client_secret(kind, data)
    before = _snapshot(kind, item)
    new_secret = bool(secret) and secret != connector_client_secret(item)
    if all(before[field] == cleaned[field] for field in kind.fields) and not new_secret:
        return False
    locked = kind.items().select_for_update().get(id=item.id)
    for field, value in cleaned.items():
        setattr(locked, field, value)
    if new_secret:
        locked.client_secret = encrypt_credentials({OAUTH_SECRET_FIELD: secret})
    if cleaned["name"] != before["name"]:
        locked.slug = unique_slug(kind.items(), cleaned["name"], exclude_id=locked.id)
    locked.current_version += 1
    locked.save()
    _add_version(kind, locked, acting_user)
    changed = sorted(field for field in kind.fields if before[field] != cleaned[field])
    changed += [OAUTH_SECRET_FIELD] if new_secret else []
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
    """Delete an item and its versions. A connector still used by connections, and a workflow
    definition customers still have, are refused."""
    organization_require_writable(organization=organization)
    # What still uses the item, across every customer's data (those being deleted included).
    users = {
        CONNECTORS: (Connection, "connector_id", "connection(s) still use", "disconnect them"),
        WORKFLOWS: (Workflow, "definition_id", "customer(s) still have", "remove it from them"),
    }
    if kind in users:
        model, column, verb, remedy = users[kind]
        count = organization_count(model, customers=Customer.objects.all(), **{column: item.id})
        if count:
            raise ValidationError(
                f"{count} {verb} {item.name}; {remedy} first.", code=f"{kind.singular}_in_use"
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
