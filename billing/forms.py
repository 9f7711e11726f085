from __future__ import annotations

from typing import Any

from django import forms

from billing.selectors import EffectiveLimit, override_bounds
from customers.models import Plan


class CustomerLimitsForm(forms.Form):
    """One field per per-customer limit; blank means the plan's value."""

    def __init__(self, *args: Any, limits: list[EffectiveLimit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        for limit in limits:
            low, high = override_bounds(limit.key)
            self.fields[limit.key] = forms.IntegerField(
                label=limit.label,
                required=False,
                min_value=low,
                max_value=high,
                initial=limit.value if limit.source == "override" else None,
                help_text=f"{low:,} to {high:,}; blank = plan ({limit.plan_value:,})",
                widget=forms.NumberInput(attrs={"placeholder": f"{limit.plan_value}"}),
            )


class UpgradeRequestForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.none(), empty_label=None)
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
        help_text="Anything Fastn should know: expected volume, timing, billing contact.",
    )

    def __init__(self, *args: Any, current_plan: Plan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["plan"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Plan.objects.exclude(id=current_plan.id)
