"""Connectors, agents, tools and workflow definitions: organization-level building blocks with
immutable versions."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models

from customers.models import Organization
from dataplane import outbound
from tenancy.managers import ScopedManager


class BuildItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80)
    description = models.TextField(blank=True)
    current_version = models.PositiveIntegerField(default=1)
    test_version = models.PositiveIntegerField(null=True, blank=True)
    prod_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AuthMethod(models.TextChoices):
    API_KEY = "api_key", "API key"
    OAUTH2 = "oauth2", "OAuth 2.0"
    BASIC = "basic", "Basic auth"
    NONE = "none", "No authentication"


class Connector(BuildItem):
    auth_method = models.CharField(max_length=12, choices=AuthMethod.choices)
    credential_fields = models.JSONField(default=list, blank=True)
    base_url = models.URLField(blank=True)
    # Hosts besides the base URL's that connections' credentials may be sent to (SPEC §11),
    # each ``host`` or ``host:port``.
    extra_hosts = models.JSONField(default=list, blank=True)
    # OAuth 2.0 authorization-code flow with PKCE (SPEC §11; dataplane/oauth.py). Without an
    # authorize URL an ``oauth2`` connector asks for a pasted ``access_token`` as before.
    authorize_url = models.URLField(max_length=2048, blank=True)
    token_url = models.URLField(max_length=2048, blank=True)
    scopes = models.CharField(max_length=1000, blank=True)
    client_id = models.CharField(max_length=255, blank=True)
    # Encrypted like connections' credentials (``dataplane.encryption``); never in a version.
    client_secret = models.TextField(blank=True)

    objects = ScopedManager["Connector"]()

    class Meta(BuildItem.Meta):
        constraints = [
            models.UniqueConstraint(fields=["org", "id"], name="build_connector_org_id_uniq"),
            models.UniqueConstraint(fields=["org", "slug"], name="build_connector_slug_uniq"),
        ]

    @property
    def uses_authorization_code(self) -> bool:
        """Whether Connect sends the user to the provider (``authorize_url`` and ``token_url``
        declared) instead of asking for credential fields."""
        return self.auth_method == AuthMethod.OAUTH2 and bool(self.authorize_url and self.token_url)

    def credential_hosts(self) -> list[str]:
        """Where this connector's credentials may go: its base URL's host and its further
        hosts, as ``outbound.host_key``s (``host:port``)."""
        urls = [self.base_url] if self.base_url else []
        urls += [f"https://{host}/" for host in self.extra_hosts or []]
        keys = set()
        for url in urls:
            try:
                keys.add(outbound.host_key(url))
            except outbound.UnsafeURL:
                continue
        return sorted(keys)

    def credentials_refusal(self, url: str) -> str:
        """Why a call to ``url`` may not carry this connector's credentials; ``""`` when it
        may. A URL that cannot be called at all is refused by ``outbound`` itself."""
        try:
            key = outbound.host_key(url)
        except outbound.UnsafeURL:
            return ""
        hosts = self.credential_hosts()
        if key in hosts:
            return ""
        declared = ", ".join(hosts) or "none are declared"
        return (
            f"{key} is not a host of connector {self.name} ({declared}); its connections' "
            "credentials go only to its hosts."
        )


class Agent(BuildItem):
    endpoint_url = models.URLField()
    input_schema = models.JSONField(default=dict, blank=True)

    objects = ScopedManager["Agent"]()

    class Meta(BuildItem.Meta):
        constraints = [
            models.UniqueConstraint(fields=["org", "id"], name="build_agent_org_id_uniq"),
            models.UniqueConstraint(fields=["org", "slug"], name="build_agent_slug_uniq"),
        ]


class Tool(BuildItem):
    endpoint_url = models.URLField()
    input_schema = models.JSONField(default=dict, blank=True)

    objects = ScopedManager["Tool"]()

    class Meta(BuildItem.Meta):
        constraints = [
            models.UniqueConstraint(fields=["org", "id"], name="build_tool_org_id_uniq"),
            models.UniqueConstraint(fields=["org", "slug"], name="build_tool_slug_uniq"),
        ]


class WorkflowDefinition(BuildItem):
    """A workflow the organization defines once (SPEC §11): its triggers and steps, the steps
    naming connectors by slug. Customers enable it (``dataplane.models.Workflow``) and each run
    executes the version deployed to its environment, with the customer's own connections."""

    definition = models.JSONField(default=dict)

    objects = ScopedManager["WorkflowDefinition"]()

    class Meta(BuildItem.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["org", "id"], name="build_workflowdefinition_org_id_uniq"
            ),
            models.UniqueConstraint(
                fields=["org", "slug"], name="build_workflowdefinition_slug_uniq"
            ),
        ]

    @property
    def trigger_summary(self) -> str:
        """What starts a run, in words: its events and schedules, or ``manual`` only."""
        triggers = self.definition.get("triggers") or []
        parts = [f"event {t['event']}" for t in triggers if "event" in t]
        parts += [f"schedule {t['schedule']}" for t in triggers if "schedule" in t]
        return ", ".join(parts) or "manual"

    def connector_slugs(self, definition: dict[str, Any] | None = None) -> list[str]:
        """The connectors the steps of ``definition`` (default: the latest) name, by slug."""
        steps = (definition if definition is not None else self.definition).get("steps") or []
        return sorted({str(step["connector"]) for step in steps if "connector" in step})


class BuildVersion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["-number"]


class ConnectorVersion(BuildVersion):
    connector = models.ForeignKey(
        Connector, on_delete=models.CASCADE, db_constraint=False, related_name="versions"
    )

    objects = ScopedManager["ConnectorVersion"]()

    class Meta(BuildVersion.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["org", "connector", "number"], name="build_connectorversion_uniq"
            ),
        ]


class AgentVersion(BuildVersion):
    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, db_constraint=False, related_name="versions"
    )

    objects = ScopedManager["AgentVersion"]()

    class Meta(BuildVersion.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["org", "agent", "number"], name="build_agentversion_uniq"
            ),
        ]


class ToolVersion(BuildVersion):
    tool = models.ForeignKey(
        Tool, on_delete=models.CASCADE, db_constraint=False, related_name="versions"
    )

    objects = ScopedManager["ToolVersion"]()

    class Meta(BuildVersion.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["org", "tool", "number"], name="build_toolversion_uniq"
            ),
        ]


class WorkflowDefinitionVersion(BuildVersion):
    workflow = models.ForeignKey(
        WorkflowDefinition, on_delete=models.CASCADE, db_constraint=False, related_name="versions"
    )

    objects = ScopedManager["WorkflowDefinitionVersion"]()

    class Meta(BuildVersion.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["org", "workflow", "number"], name="build_workflowdefinitionversion_uniq"
            ),
        ]
