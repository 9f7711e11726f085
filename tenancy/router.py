"""Database routing for the two planes (SPEC §3, §6).

Control-plane models live in the main database; data-plane models live in the database of the
customer's region. Routing reads the current scope, so calling code never names a database
except for organization-wide work, which iterates the regions explicitly
(``selectors`` use ``.using(alias)`` with ``tenancy.context.region_runtime_aliases()``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from tenancy.context import MAIN_ALIAS, TenantContextMissing, current_scope, region_alias

DATA_PLANE_APPS = frozenset({"dataplane"})


def is_data_plane(model: type[models.Model]) -> bool:
    return model._meta.app_label in DATA_PLANE_APPS


def owner_aliases() -> set[str]:
    return set(migration_aliases())


def migration_aliases() -> list[str]:
    """The owner alias of every database, main first: what ``migrate`` runs on."""
    aliases = ["owner"]
    for region_aliases in settings.TENANCY_REGION_ALIASES.values():
        if region_aliases.owner not in aliases:
            aliases.append(region_aliases.owner)
    return aliases


def region_owner_aliases() -> set[str]:
    return {aliases.owner for aliases in settings.TENANCY_REGION_ALIASES.values()}


class TenantRouter:
    def _route(self, model: type[models.Model], hints: dict[str, Any]) -> str | None:
        instance = hints.get("instance")
        if (
            instance is not None
            and instance._state.db
            and is_data_plane(instance.__class__) == is_data_plane(model)
        ):
            return str(instance._state.db)
        scope = current_scope()
        if not is_data_plane(model):
            if scope is not None and scope.platform:
                return "platform"
            return MAIN_ALIAS
        if scope is None:
            raise TenantContextMissing(f"{model.__name__} queried without a tenant scope.")
        if scope.platform or scope.region is None:
            raise TenantContextMissing(
                f"{model.__name__}: organization-wide and platform queries of the data plane "
                "name their region's alias with .using()."
            )
        alias = region_alias(scope.region)
        if alias not in scope.aliases:
            raise TenantContextMissing(f"The scope has not entered the {alias!r} database.")
        return alias

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str | None:
        return self._route(model, hints)

    def db_for_write(self, model: type[models.Model], **hints: Any) -> str | None:
        return self._route(model, hints)

    def allow_relation(self, obj1: models.Model, obj2: models.Model, **hints: Any) -> bool:
        return True

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool:
        if db not in owner_aliases():
            return False
        if app_label == "tenancy":
            return True
        if app_label in DATA_PLANE_APPS:
            return db in region_owner_aliases()
        return db == "owner"
