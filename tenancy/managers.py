"""Scoped default managers: defence in depth above RLS (SPEC §5.10)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.db import models

from tenancy.context import TenantContextMissing, current_scope

M = TypeVar("M", bound=models.Model)


class ScopedManager(models.Manager[M], Generic[M]):
    """Filters by the current scope's organization (and customer) and refuses to run without one.

    ``customer_field`` names the column that identifies the customer of a row (``customer_id``
    on customer-owned rows, ``id`` on the customers table); ``None`` for organization-level rows.
    """

    def __init__(
        self,
        *,
        customer_field: str | None = None,
        org_field: str = "org_id",
        user_field: str | None = None,
    ) -> None:
        super().__init__()
        self.customer_field = customer_field
        self.org_field = org_field
        self.user_field = user_field

    def deconstruct(self) -> Any:
        # Managers are not used in migrations; keep them out of migration state.
        return super().deconstruct()

    def get_queryset(self) -> models.QuerySet[M]:
        scope = current_scope()
        if scope is None:
            raise TenantContextMissing(
                f"{self.model.__name__} queried without a tenant scope; enter tenancy.context()."
            )
        queryset = super().get_queryset()
        if scope.platform:
            return queryset
        if scope.org_id is None:
            raise TenantContextMissing(
                f"{self.model.__name__} needs an organization scope, not a user-only one."
            )
        queryset = queryset.filter(**{self.org_field: scope.org_id})
        if scope.customer_id is not None and self.customer_field:
            queryset = queryset.filter(**{self.customer_field: scope.customer_id})
        return queryset

    def of_current_user(self) -> models.QuerySet[M]:
        """Rows of the signed-in user across organizations (e.g. memberships for the switcher);
        RLS lets ``fastn_app`` see them through a policy on ``app.user_id``."""
        scope = current_scope()
        if scope is None or scope.user_id is None or not self.user_field:
            raise TenantContextMissing(f"{self.model.__name__}: no signed-in user in scope.")
        return super().get_queryset().filter(**{self.user_field: scope.user_id})

    def unscoped(self) -> models.QuerySet[M]:
        """Skip the ORM scope filter. RLS still applies; use only where a test or a
        platform service needs to prove what the database itself returns."""
        return super().get_queryset()
