from __future__ import annotations

from django import forms

from webhooks import events


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=2048,
        help_text="An https:// URL of yours that accepts POST. Redirects are not followed.",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks/fastn"}),
    )
    description = forms.CharField(
        max_length=200, required=False, help_text="Optional, e.g. “Provisioning service”."
    )
    event_types = forms.MultipleChoiceField(
        label="Event types",
        choices=events.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The events this endpoint receives.",
    )
