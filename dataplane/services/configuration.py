"""A customer's configuration values; some are secret, some end users may edit."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

from audit import actions
from customers.models import Customer, Organization
from dataplane.models import Configuration
from dataplane.services.primitives import audit_data_plane, require_writable_customer_scope


def configuration_add(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    key: str,
    value: str,
    is_secret: bool = False,
    end_user_editable: bool = False,
) -> Configuration:
    require_writable_customer_scope(organization=organization, customer=customer)
    key = key.strip()
    if Configuration.objects.filter(key=key).exists():
        raise ValidationError({"key": "This customer already has this key."})
    configuration = Configuration.objects.create(
        org_id=organization.id,
        customer_id=customer.id,
        key=key,
        value=value,
        is_secret=is_secret,
        end_user_editable=end_user_editable,
    )
    audit_data_plane(
        acting_user,
        actions.CONFIGURATION_CREATE,
        configuration,
        customer,
        after={"key": key, "is_secret": is_secret, "end_user_editable": end_user_editable},
    )
    return configuration


def configuration_update(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    configuration: Configuration,
    value: str | None,
    restricted: bool,
    is_secret: bool | None = None,
    end_user_editable: bool | None = None,
) -> None:
    """Change a value (``None`` keeps it, e.g. a secret left blank). A customer-restricted
    principal (End User, embed token) may change only end-user-editable values, never flags.

    A secret stays secret until its value is replaced: making it non-secret needs a new value
    in the same change, so the stored one is never shown again."""
    require_writable_customer_scope(organization=organization, customer=customer)
    if restricted and not configuration.end_user_editable:
        raise PermissionDenied("Only end-user-editable configuration can be changed here.")
    revealing = configuration.is_secret and is_secret is False and not restricted
    if revealing and value is None:
        raise ValidationError(
            {
                "value": "Enter a new value to make this secret an ordinary value: the stored "
                "secret is never shown again."
            },
            code="secret_value_kept",
        )
    changed = []
    if value is not None and value != configuration.value:
        configuration.value = value
        changed.append("value")
    if not restricted:
        for field, new in (("is_secret", is_secret), ("end_user_editable", end_user_editable)):
            if new is not None and getattr(configuration, field) != new:
                setattr(configuration, field, new)
                changed.append(field)
    if not changed:
        return
    configuration.save()
    audit_data_plane(
        acting_user,
        actions.CONFIGURATION_UPDATE,
        configuration,
        customer,
        after={"key": configuration.key, "fields": changed},
    )


def configuration_delete(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    configuration: Configuration,
) -> None:
    require_writable_customer_scope(organization=organization, customer=customer)
    audit_data_plane(
        acting_user,
        actions.CONFIGURATION_DELETE,
        configuration,
        customer,
        before={"key": configuration.key},
    )
    configuration.delete()
