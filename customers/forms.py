from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from customers.domains import registrable_email_domain
from customers.models import Region


class CustomerForm(forms.Form):
    name = forms.CharField(max_length=120)
    external_id = forms.CharField(
        label="External ID",
        max_length=120,
        required=False,
        help_text="Your own identifier for this customer, unique in your organization.",
    )


class CustomerCreateForm(CustomerForm):
    region = forms.ChoiceField(
        choices=Region.choices,
        help_text="Where this customer's data is stored. Defaults to your organization's region.",
    )
    activate = forms.BooleanField(
        label="Activate now",
        required=False,
        initial=True,
        help_text="Leave unticked to create it as pending activation: no runs, API or widget.",
    )


class OrganizationForm(forms.Form):
    name = forms.CharField(label="Organization name", max_length=120)
    default_region = forms.ChoiceField(
        choices=Region.choices,
        help_text="New customers are stored here unless you choose another region.",
    )


class EmailDomainForm(forms.Form):
    email_domain = forms.CharField(
        label="New email domain", max_length=253, help_text="For example example.com."
    )
    verification_email = forms.EmailField(
        label="Send the verification link to",
        help_text="An address at the new domain. The change takes effect when its link is "
        "followed.",
    )

    def clean_email_domain(self) -> str:
        return registrable_email_domain(self.cleaned_data["email_domain"])


class TypedConfirmationForm(forms.Form):
    confirmation = forms.CharField(max_length=200)

    def __init__(self, *args: Any, expected: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.fields["confirmation"].label = f"Type {expected} to confirm"

    def clean_confirmation(self) -> str:
        value: str = self.cleaned_data["confirmation"]
        if value.strip() != self.expected:
            raise ValidationError(f"Type {self.expected} exactly as shown.")
        return value
