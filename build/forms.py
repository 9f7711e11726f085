from __future__ import annotations

import json
import re
from typing import Any

from django import forms

from build.models import AuthMethod
from build.services import CONNECTORS, WORKFLOWS, Kind
from customers.models import Customer
from dataplane import outbound
from dataplane.definitions import parse_json, validate_input, validate_input_schema

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
JSON_ATTRS = {"rows": 10, "class": "code", "spellcheck": "false"}


class JSONField(forms.CharField):
    """A textarea of JSON; errors carry the line and column."""

    widget = forms.Textarea(attrs=JSON_ATTRS)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        return parse_json(text or "{}")

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, (dict, list)):
            return json.dumps(value, indent=2)
        return value


class SafeURLField(forms.URLField):
    def validate(self, value: Any) -> None:
        super().validate(value)
        if value:
            try:
                outbound.check_url(value)
            except outbound.UnsafeURL as exc:
                raise forms.ValidationError(str(exc)) from None


def _names_in(text: str) -> list[str]:
    """The entries of a comma- or space-separated list."""
    return [name.strip() for name in re.split(r"[,\s]+", text) if name.strip()]


class ItemForm(forms.Form):
    """The fields of a build item; editing starts from the item's current values."""

    @classmethod
    def initial_from(cls, item: Any) -> dict[str, Any]:
        return {name: getattr(item, name) for name in cls.base_fields}


class ConnectorForm(ItemForm):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    auth_method = forms.ChoiceField(choices=AuthMethod.choices, label="Authentication method")
    credential_fields = forms.CharField(
        required=False,
        label="Credential fields",
        help_text="Names of the values a connection asks for, separated by commas "
        "(lowercase, e.g. <code>api_key</code>). OAuth 2.0 needs <code>access_token</code>; "
        "Basic auth needs <code>username, password</code>.",
    )
    base_url = SafeURLField(
        required=False,
        label="Base URL",
        help_text="Called with the credentials by Test connection (https://). Connections' "
        "credentials are sent only to this URL's host and to the further hosts below.",
        assume_scheme="https",
    )
    extra_hosts = forms.CharField(
        required=False,
        label="Further hosts",
        help_text="Other hosts workflow steps may send this connector's credentials to, "
        "separated by commas (e.g. <code>api.example.com, auth.example.com:8443</code>).",
    )

    authorize_url = forms.CharField(
        required=False,
        max_length=2048,
        label="OAuth authorize URL",
        help_text="OAuth 2.0 only: the provider's page Connect sends users to "
        "(https://). With it, Connect runs the authorization-code flow with PKCE and no "
        "credential fields are asked.",
    )
    token_url = SafeURLField(
        required=False,
        max_length=2048,
        label="OAuth token URL",
        help_text="Where codes and refresh tokens are exchanged for access tokens (https://).",
        assume_scheme="https",
    )
    scopes = forms.CharField(
        required=False,
        max_length=1000,
        label="OAuth scopes",
        help_text="Separated by spaces, e.g. <code>read write</code>.",
    )
    client_id = forms.CharField(required=False, max_length=255, label="OAuth client ID")
    client_secret = forms.CharField(
        required=False,
        max_length=4096,
        label="OAuth client secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Encrypted at rest and never shown again. Leave blank to keep the stored "
        "one (or for a public client, which PKCE protects).",
    )

    def clean_credential_fields(self) -> list[str]:
        names = _names_in(self.cleaned_data.get("credential_fields") or "")
        bad = [name for name in names if not FIELD_NAME.match(name)]
        if bad:
            raise forms.ValidationError(
                f"Use lowercase letters, digits and underscores: {', '.join(bad)}."
            )
        if len(set(names)) != len(names):
            raise forms.ValidationError("Each field name once.")
        return names

    def clean_extra_hosts(self) -> list[str]:
        """Checked by the service (``build.services``), which names the host it refuses."""
        return _names_in(self.cleaned_data.get("extra_hosts") or "")

    @classmethod
    def initial_from(cls, item: Any) -> dict[str, Any]:
        return {
            **super().initial_from(item),
            "credential_fields": ", ".join(item.credential_fields or []),
            "extra_hosts": ", ".join(item.extra_hosts or []),
            "client_secret": "",
        }


class EndpointForm(ItemForm):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    endpoint_url = SafeURLField(label="HTTPS endpoint", assume_scheme="https")
    input_schema = JSONField(
        required=False,
        label="Input schema (JSON)",
        help_text='A JSON Schema object: <code>{"type": "object", "properties": '
        '{"text": {"type": "string"}}, "required": ["text"]}</code>.',
    )

    def clean_input_schema(self) -> dict[str, Any]:
        return validate_input_schema(self.cleaned_data.get("input_schema") or {})


WORKFLOW_EXAMPLE = {
    "triggers": [{"event": "order.created"}],
    "steps": [{"name": "notify", "url": "https://", "method": "POST", "connector": "<slug>"}],
}


class WorkflowDefinitionForm(ItemForm):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    definition = JSONField(
        label="Definition (JSON)",
        widget=forms.Textarea(attrs={**JSON_ATTRS, "rows": 16}),
        help_text='<code>"steps"</code>: the HTTP calls, in order; a step naming a '
        '<code>"connector"</code> (its slug) carries the customer\'s connection of it and may '
        'only call that connector\'s hosts. <code>"triggers"</code> (optional): '
        '<code>{"event": "order.created"}</code>, <code>{"schedule": "*/15 * * * *"}</code> '
        "(cron, UTC). See docs/WORKFLOWS.md.",
    )


def form_class_for(kind: Kind) -> type[ItemForm]:
    if kind is WORKFLOWS:
        return WorkflowDefinitionForm
    return ConnectorForm if kind is CONNECTORS else EndpointForm


class CustomerChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.get_region_display()})"


class TestPanelForm(forms.Form):
    customer = CustomerChoiceField(
        queryset=Customer._base_manager.none(),
        help_text="The run is logged as an execution of this customer, in its region.",
    )
    payload = JSONField(label="Input (JSON)")

    def __init__(self, *args: Any, schema: dict[str, Any], customers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema = schema
        self.fields["customer"].queryset = customers  # type: ignore[attr-defined]

    def clean_payload(self) -> dict[str, Any]:
        return validate_input(self.cleaned_data.get("payload"), self.schema)


class DeployForm(forms.Form):
    environment = forms.ChoiceField(choices=[("test", "Test"), ("prod", "Prod")])
    number = forms.IntegerField(min_value=1)
