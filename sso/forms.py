from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from roles.models import Role


class SsoConfigurationForm(forms.Form):
    issuer = forms.URLField(
        label="Issuer URL",
        max_length=2048,
        assume_scheme="https",
        help_text="Your identity provider's issuer, e.g. https://login.example.com "
        "(its discovery document, ending in /.well-known/openid-configuration, works too).",
    )
    client_id = forms.CharField(label="Client ID", max_length=255)
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    default_role: forms.ModelChoiceField = forms.ModelChoiceField(  # type: ignore[type-arg]
        label="Role of new members",
        queryset=None,
        required=False,
        empty_label="Choose a role",
        help_text="What a person gets when they first sign in through your identity provider. "
        "Never Owner.",
    )
    enabled = forms.BooleanField(label="Turn on single sign-on", required=False)
    require_sso = forms.BooleanField(
        label="Require single sign-on for the domain",
        required=False,
        help_text="Addresses at your domain can no longer sign in with a password.",
    )

    def __init__(
        self, *args: Any, roles: QuerySet[Role], secret_stored: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["default_role"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = roles
        self.fields["client_secret"].help_text = (
            "A secret is stored (encrypted, never shown). Leave this empty to keep it."
            if secret_stored
            else "Stored encrypted and never shown again."
        )
