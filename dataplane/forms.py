from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from build.forms import JSONField
from build.models import Connector
from dataplane.definitions import MAX_DEFINITION_BYTES
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


class WorkflowForm(ConsoleForm):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    definition = JSONField(
        label="Definition (JSON)",
        help_text='<code>{"triggers": [{"event": "order.created"}], "steps": [{"name": "notify", '
        '"url": "https://…", "method": "POST", "connection": "&lt;connection id&gt;", '
        '"timeout_seconds": 10, "body": {…}}]}</code> — steps run in order; each is one HTTP '
        "call; triggers (optional) name the events the deployed version runs for. At most "
        f"{MAX_DEFINITION_BYTES // 1024} KiB.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["definition"].widget.attrs["rows"] = 16


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


class EnvironmentVersionForm(forms.Form):
    environment = forms.ChoiceField(choices=[("test", "Test"), ("prod", "Prod")])
    number = forms.IntegerField(min_value=1)
