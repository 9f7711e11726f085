from __future__ import annotations

from typing import Any

from django import forms

from customers.models import Customer, Region


class RelocationForm(forms.Form):
    to_region = forms.ChoiceField(label="Move data to", choices=Region.choices)
    confirm = forms.BooleanField(
        label="I understand that writes for this customer are refused until the move ends.",
    )

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        field = self.fields["to_region"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (value, label) for value, label in Region.choices if value != customer.region
        ]
