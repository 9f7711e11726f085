from __future__ import annotations

from typing import Any

from django import forms

from customers.models import Customer
from roles.models import Role

ALL = "all"
SELECTED = "selected"


class RoleChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} — {len(obj.permissions)} of 39"


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=80, help_text="Where the key is used, e.g. “Billing backend”."
    )
    role = RoleChoiceField(
        queryset=None,
        label="Permission preset",
        help_text="The key can do what this role can; only roles within your own permissions.",
    )
    scope = forms.ChoiceField(
        choices=[(ALL, "Every customer"), (SELECTED, "Selected customers")],
        initial=ALL,
        widget=forms.RadioSelect,
        help_text="A key limited to selected customers must name one in x-end-org-id.",
    )
    customers: forms.ModelMultipleChoiceField[Customer] = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Only for “Selected customers”.",
    )

    def __init__(self, *args: Any, presets: list[Role], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = Role.objects.filter(  # type: ignore[attr-defined]
            id__in=[role.id for role in presets]
        ).order_by("-is_system", "name")
        self.fields["customers"].queryset = Customer.objects.live().order_by(  # type: ignore[attr-defined]
            "name"
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == SELECTED and not data.get("customers"):
            self.add_error("customers", "Select at least one customer.")
        if data.get("scope") == ALL:
            data["customers"] = []
        return data
