from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from accounts.models import User
from signup.emailcheck import EmailInvalid, normalize_domain, normalize_email


def _reject_control_characters(value: str) -> None:
    if any(unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"} for char in value):
        raise ValidationError("Remove the invisible or control characters.", code="control")


class SignupForm(forms.Form):
    """The public signup form. The password leaves it only as a hash (``password_hash``)."""

    full_name = forms.CharField(
        label="Your name",
        max_length=150,
        validators=[_reject_control_characters],
        widget=forms.TextInput(attrs={"autocomplete": "name", "autofocus": True}),
    )
    email = forms.CharField(
        label="Work email",
        max_length=254,
        help_text="The address at your company's domain; we send a confirmation link to it.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    company_name = forms.CharField(
        label="Company name",
        max_length=120,
        validators=[_reject_control_characters],
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    company_website = forms.CharField(
        label="Company website",
        max_length=200,
        help_text="For example https://example.com",
        widget=forms.TextInput(attrs={"autocomplete": "url", "inputmode": "url"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
    )

    def clean_email(self) -> str:
        try:
            return normalize_email(self.cleaned_data["email"])
        except EmailInvalid as exc:
            raise ValidationError(str(exc), code="invalid") from None

    def clean_company_website(self) -> str:
        raw = self.cleaned_data["company_website"].strip()
        _reject_control_characters(raw)
        candidate = raw if "://" in raw else f"https://{raw}"
        parts = urlsplit(candidate)
        invalid = ValidationError(
            "Enter your company's website address, such as https://example.com.", code="invalid"
        )
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in candidate:
            raise invalid
        try:
            host = normalize_domain(parts.hostname)
        except EmailInvalid:
            raise invalid from None
        path = parts.path if parts.path not in ("", "/") else ""
        return f"{parts.scheme}://{host}{path}"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.pop("password", None)
        if password is not None:
            probe = User(email=cleaned.get("email", ""), full_name=cleaned.get("full_name", ""))
            try:
                validate_password(password, user=probe)
            except ValidationError as exc:
                self.add_error("password", exc)
            else:
                cleaned["password_hash"] = make_password(password)
        return cleaned


class SignupConfirmForm(forms.Form):
    """Confirming asks for the password chosen at signup: whoever only holds the mailbox (the
    link) cannot hand the account to someone who signed up with their address."""

    password = forms.CharField(
        label="The password you chose when you signed up",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )

    def __init__(self, *args: Any, password_hash: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.password_hash = password_hash

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not check_password(password, self.password_hash):
            raise ValidationError(
                "That is not the password chosen for this signup. If you did not sign up, "
                "ignore this page: nothing happens without that password.",
                code="password_mismatch",
            )
        return password
