"""The three database logins (SPEC §0), read from the configured aliases."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Logins:
    app: str
    owner: str
    platform: str


def logins() -> Logins:
    databases = settings.DATABASES
    return Logins(
        app=databases["default"].get("USER") or "fastn_app",
        owner=databases.get("owner", {}).get("USER") or "fastn_owner",
        platform=databases.get("platform", {}).get("USER") or "fastn_platform",
    )
