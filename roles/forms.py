from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model, password_validation

from roles import catalog
from roles.models import Role
from roles.selectors import restrictable_customers

PERMISSION_CHOICES = [(p.key, p.description) for p in catalog.PERMISSIONS]


class RoleForm(forms.Form):
    """Name, description and permissions; the template draws the permissions as a matrix."""

    name = forms.CharField(max_length=60)
    description = forms.CharField(max_length=240, required=False)
    permissions = forms.MultipleChoiceField(
        choices=PERMISSION_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, with_restriction: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if with_restriction:
            self.fields["customer_restricted"] = forms.BooleanField(
                required=False,
                label="Always limited to one customer",
                help_text="Members with this role see only the widget of their customer.",
            )

    def selected_keys(self) -> set[str]:
        if self.is_bound:
            return set(self.data.getlist("permissions")) if hasattr(self.data, "getlist") else set()
        return set(self.initial.get("permissions", []))


def unknown_permission_keys(data: Any) -> set[str]:
    """Keys a POST names that are not in the catalog (a tampered or stale form)."""
    return set(data.getlist("permissions")) - catalog.ALL_KEYS


class _MemberChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.user.email} ({obj.role.name})"


class _RoleChoiceMixin(forms.Form):
    role: forms.ModelChoiceField = forms.ModelChoiceField(  # type: ignore[type-arg]
        queryset=None, empty_label=None
    )
    restricted_customer: forms.ModelChoiceField = forms.ModelChoiceField(  # type: ignore[type-arg]
        queryset=None,
        required=False,
        label="Limit to customer",
        empty_label="Organization-wide (all customers)",
        help_text="Required for roles that are always limited to one customer, such as End User.",
    )

    def __init__(self, *args: Any, roles: list[Role], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role_field = self.fields["role"]
        assert isinstance(role_field, forms.ModelChoiceField)
        role_field.queryset = Role.objects.filter(id__in=[role.id for role in roles])
        role_field.choices = [(role.id, role.name) for role in roles]
        customer_field = self.fields["restricted_customer"]
        assert isinstance(customer_field, forms.ModelChoiceField)
        customer_field.queryset = restrictable_customers()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        role = cleaned.get("role")
        if role is not None and role.customer_restricted and not cleaned.get("restricted_customer"):
            self.add_error(
                "restricted_customer", f"Choose the customer a {role.name} is limited to."
            )
        return cleaned

    def assignment(self) -> dict[str, Any]:
        """The chosen role and the customer it limits the person to, as the services take them."""
        return {key: self.cleaned_data[key] for key in ("role", "restricted_customer")}


class InvitationForm(_RoleChoiceMixin):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autofocus": True}))
    field_order = ["email", "role", "restricted_customer"]


class MembershipRoleForm(_RoleChoiceMixin):
    pass


class JoinRequestAcceptForm(_RoleChoiceMixin):
    pass


class OwnershipTransferForm(forms.Form):
    new_owner = _MemberChoiceField(queryset=None, label="New Owner", empty_label="Choose a member")
    confirm = forms.CharField(
        label="Type the organization's slug to confirm",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, candidates: Any, slug: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slug = slug
        field = self.fields["new_owner"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = candidates

    def clean_confirm(self) -> str:
        value = str(self.cleaned_data["confirm"]).strip()
        if value != self.slug:
            raise forms.ValidationError(f"Type {self.slug} exactly.")
        return value


class InvitationSignupForm(forms.Form):
    """A new account for the invited address; the address itself comes from the invitation."""

    full_name = forms.CharField(max_length=150, required=False, label="Your name")
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            try:
                password_validation.validate_password(
                    first,
                    get_user_model()(email=self.email, full_name=cleaned.get("full_name", "")),
                )
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class InvitationLoginForm(forms.Form):
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
