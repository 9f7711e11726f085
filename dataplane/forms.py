from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from build.models import Connector, WorkflowDefinition
from dataplane.models import Configuration, Connection
from fastn_console.console import add_service_errors

CREDENTIAL_PREFIX = "credential_"


class ConsoleForm(forms.Form):
    """A form of the data-plane pages; a service's ``ValidationError`` lands on its fields."""

    def add_service_errors(self, error: ValidationError) -> None:
        add_service_errors(self, error)


class CredentialsForm(ConsoleForm):
    """A connection's name and one password input per credential field of its connector.

    Stored values are never rendered back; with ``optional`` a blank input keeps them.
    """

    name = forms.CharField(max_length=120, label="Connection name")

    def __init__(
        self,
        *args: Any,
        fields: list[str],
        name_initial: str = "",
        optional: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs["initial"] = {"name": name_initial, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        self.credential_names = fields
        for name in fields:
            self.fields[CREDENTIAL_PREFIX + name] = forms.CharField(
                label=name.replace("_", " ").capitalize(),
                required=not optional,
                max_length=4096,
                strip=True,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                help_text="Leave blank to keep the stored value." if optional else "",
            )

    @classmethod
    def for_connection(
        cls, data: Any, *, connection: Connection, connector: Connector
    ) -> CredentialsForm:
        """Edit or reconnect ``connection``: a blank input keeps a stored credential."""
        return cls(
            data,
            fields=list(connector.credential_fields or []),
            name_initial=connection.name,
            optional=bool(connection.credentials),
        )

    def credentials(self) -> dict[str, str]:
        return {
            name: self.cleaned_data.get(CREDENTIAL_PREFIX + name) or ""
            for name in self.credential_names
        }

    def add_service_errors(self, error: ValidationError) -> None:
        """Services name credentials without this form's prefix."""
        if hasattr(error, "error_dict"):
            error = ValidationError(
                {
                    CREDENTIAL_PREFIX + name if name in self.credential_names else name: errors
                    for name, errors in error.error_dict.items()
                }
            )
        super().add_service_errors(error)


class WorkflowAddForm(forms.Form):
    """The Add button of one of the organization's workflows (a definition of another
    organization, or no definition, is not a choice: the scoped manager hides it)."""

    definition = forms.ModelChoiceField(queryset=WorkflowDefinition._base_manager.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read in the request's scope, not at import.
        self.fields["definition"].queryset = WorkflowDefinition.objects.all()  # type: ignore[attr-defined]


CONNECTION_PREFIX = "connection_"


class WorkflowConnectionsForm(ConsoleForm):
    """The customer's connection for each connector a workflow's steps name: one choice per
    connector among the customer's connections of it; blank lets a run use the only one."""

    def __init__(
        self,
        *args: Any,
        connectors: list[Connector],
        connections: list[Connection],
        chosen: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.slugs = [connector.slug for connector in connectors]
        for connector in connectors:
            own = [c for c in connections if c.connector_id == connector.id]
            choices = [("", "Its only connection, when it has one")]
            choices += [(str(c.id), f"{c.name} ({c.get_status_display()})") for c in own]
            self.fields[CONNECTION_PREFIX + connector.slug] = forms.ChoiceField(
                label=f"Connection for {connector.name}",
                choices=choices,
                required=False,
                initial=chosen.get(connector.slug, ""),
                help_text=f"Steps naming <code>{connector.slug}</code> carry its credentials."
                if own
                else f"This customer has no {connector.name} connection yet: connect one.",
            )

    def connections(self) -> dict[str, str]:
        return {slug: self.cleaned_data.get(CONNECTION_PREFIX + slug) or "" for slug in self.slugs}

    def add_service_errors(self, error: ValidationError) -> None:
        """The service's ``connections`` errors name the connector first (``slug: …``)."""
        if hasattr(error, "error_dict") and "connections" in error.error_dict:
            for message in ValidationError(error.error_dict["connections"]).messages:
                slug = message.partition(":")[0]
                field = CONNECTION_PREFIX + slug
                self.add_error(field if field in self.fields else None, message)
            return
        super().add_service_errors(error)


class ConfigurationForm(ConsoleForm):
    key = forms.RegexField(
        regex=r"^[A-Za-z0-9_.-]{1,120}$",
        max_length=120,
        error_messages={"invalid": "Use letters, digits, dots, dashes and underscores."},
    )
    value = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    is_secret = forms.BooleanField(required=False, label="Secret (never shown again)")
    end_user_editable = forms.BooleanField(
        required=False, label="End users may edit this value in the widget"
    )


class ConfigurationValueForm(ConsoleForm):
    """The value of one configuration entry; a secret is never shown and blank keeps it."""

    value = forms.CharField(required=False, max_length=10_000)

    def __init__(self, *args: Any, configuration: Configuration, **kwargs: Any) -> None:
        self.configuration = configuration
        if not configuration.is_secret:
            kwargs["initial"] = {"value": configuration.value, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        field = self.fields["value"]
        field.label = configuration.key
        if configuration.is_secret:
            field.widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
            field.help_text = (
                "Secret: the stored value is never shown. Leave blank to keep it; it stays "
                "secret until a new value replaces it."
            )
        else:
            field.widget = forms.Textarea(attrs={"rows": 2})

    def new_value(self) -> str | None:
        value = self.cleaned_data.get("value") or ""
        if self.configuration.is_secret and not value:
            return None
        return str(value)


class ConfigurationSettingsForm(ConfigurationValueForm):
    """Organization members also set the flags."""

    is_secret = forms.BooleanField(required=False, label="Secret (never shown again)")
    end_user_editable = forms.BooleanField(
        required=False, label="End users may edit this value in the widget"
    )

    def __init__(self, *args: Any, configuration: Configuration, **kwargs: Any) -> None:
        super().__init__(*args, configuration=configuration, **kwargs)
        self.initial.update(
            is_secret=configuration.is_secret, end_user_editable=configuration.end_user_editable
        )
