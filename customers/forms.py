from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from customers.domains import registrable_email_domain
from customers.imports import COLUMNS, MAX_BYTES, MAX_ROWS, check_size
from customers.labels import METADATA_MAX_BYTES, labels_parse, metadata_parse
from customers.models import Region


class CustomerForm(forms.Form):
    name = forms.CharField(max_length=120)
    external_id = forms.CharField(
        label="External ID",
        max_length=120,
        required=False,
        help_text="Your own identifier for this customer, unique in your organization.",
    )
    labels = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="key:value pairs separated by commas, for example env:production, tier:gold. "
        "Letters, digits, '-', '_' and '.'; filter the customer list by them.",
    )
    metadata = forms.CharField(
        label="Metadata (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=f"A JSON object of up to {METADATA_MAX_BYTES // 1024} KB for your own use, "
        'for example {"crm_id": "0012"}. The API returns it with the customer.',
    )

    def clean_labels(self) -> dict[str, str]:
        return labels_parse(self.cleaned_data["labels"])

    def clean_metadata(self) -> dict[str, Any]:
        return metadata_parse(self.cleaned_data["metadata"])


class CustomerImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8, at most {MAX_ROWS:,} rows and {MAX_BYTES // 1_048_576} MB. The first "
        f"line names the columns: {', '.join(COLUMNS)} (external_id and name required).",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        check_size(upload.size or 0)
        return upload


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
