from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from build.forms import JSONField
from dataplane.definitions import MAX_DEFINITION_BYTES
from dataplane.models import Configuration

CREDENTIAL_PREFIX = "credential_"


class CredentialsForm(forms.Form):
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

    def credentials(self) -> dict[str, str]:
        return {
            name: self.cleaned_data.get(CREDENTIAL_PREFIX + name) or ""
            for name in self.credential_names
        }

    def add_credential_errors(self, exc: Exception) -> None:
        if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
            for name, errors in exc.message_dict.items():
                field = CREDENTIAL_PREFIX + name if name in self.credential_names else None
                for message in errors:
                    self.add_error(field if field in self.fields else None, message)
        elif isinstance(exc, ValidationError):
            self.add_error(None, exc)
        else:
            self.add_error(None, str(exc))


class WorkflowForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    definition = JSONField(
        label="Definition (JSON)",
        help_text='<code>{"steps": [{"name": "notify", "url": "https://…", "method": "POST", '
        '"connection": "&lt;connection id&gt;", "timeout_seconds": 10, "body": {…}}]}</code> — '
        f"steps run in order; each is one HTTP call. At most {MAX_DEFINITION_BYTES // 1024} KiB.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["definition"].widget.attrs["rows"] = 16


class ConfigurationForm(forms.Form):
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


class ConfigurationValueForm(forms.Form):
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
            field.help_text = "Secret: the stored value is never shown. Leave blank to keep it."
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
