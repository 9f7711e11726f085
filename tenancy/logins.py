"""The three database logins (SPEC §0), read from the configured aliases, and the two scope
roles the runtime login enters on a region database of its own."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

# The main database's aliases; every other alias reaches a region database of its own.
MAIN_DATABASE_ALIASES = frozenset({"default", "owner", "platform"})


def has_scope_roles(alias: str) -> bool:
    """Whether ``alias`` reaches a region database of its own, whose data-plane tables the
    scope roles guard (``tenancy.scope_roles``; any of its aliases: runtime, owner, platform)."""
    return alias not in MAIN_DATABASE_ALIASES


def scope_role_names(app: str) -> tuple[str, str]:
    """(organization-wide, customer-restricted) scope roles of the runtime login ``app``:
    NOLOGIN roles it is a member of without inheriting them (``tenancy.bootstrap``)."""
    return f"{app}_organization", f"{app}_customer"


@dataclass(frozen=True)
class Logins:
    app: str
    owner: str
    platform: str

    @property
    def organization_scope(self) -> str:
        return scope_role_names(self.app)[0]

    @property
    def customer_scope(self) -> str:
        return scope_role_names(self.app)[1]


def logins() -> Logins:
    databases = settings.DATABASES
    return Logins(
        app=databases["default"].get("USER") or "fastn_app",
        owner=databases.get("owner", {}).get("USER") or "fastn_owner",
        platform=databases.get("platform", {}).get("USER") or "fastn_platform",
    )
