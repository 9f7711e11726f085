"""Build Django's ``DATABASES`` from the configured URLs.

Every physical database is reachable through three aliases, one per login (SPEC §5.1):

* the runtime alias (``default`` or the region name) uses ``fastn_app``, which is subject to RLS;
* the ``*_owner`` alias uses ``fastn_owner``, which owns the tables and runs migrations;
* the ``*_platform`` alias uses ``fastn_platform``, which the staff admin uses.

A region URL is reused with the owner's and platform's credentials. A region left unset maps to
the main aliases themselves, so routing code never needs a special case.

Under pytest-django the runtime and platform aliases mirror their database's owner alias: only
the owner aliases create and migrate test databases, and tests still connect as ``fastn_app``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from psycopg_pool import ConnectionPool

REGIONS: tuple[str, ...] = ("us", "eu", "apac")
POOL_TIMEOUT_SECONDS = 3.0
REGION_LABELS: dict[str, str] = {
    "us": "United States",
    "eu": "European Union",
    "apac": "Asia-Pacific",
}


@dataclass(frozen=True)
class RegionAliases:
    runtime: str
    owner: str
    platform: str


def parse_region_urls(raw: str) -> dict[str, str]:
    """Parse ``us=postgres://…,eu=postgres://…`` into a mapping; unknown regions are an error."""
    urls: dict[str, str] = {}
    for part in filter(None, (piece.strip() for piece in raw.split(","))):
        region, sep, url = part.partition("=")
        region = region.strip().lower()
        if not sep or not url:
            raise ValueError(f"REGION_DATABASE_URLS entry {part!r} is not of the form region=url")
        if region not in REGIONS:
            raise ValueError(f"REGION_DATABASE_URLS names unknown region {region!r}; use {REGIONS}")
        urls[region] = url.strip()
    return urls


def _credentials(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return unquote(parts.username or ""), unquote(parts.password or "")


def with_credentials(url: str, user: str, password: str) -> str:
    """Return ``url`` with its user and password replaced."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    auth = quote(user, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    return parts._replace(netloc=f"{auth}@{host}").geturl()


def build_databases(
    *,
    parse_url: Any,
    main_url: str,
    owner_url: str,
    platform_url: str,
    region_urls: dict[str, str],
    conn_max_age: int = 0,
    pool: bool = False,
    disable_server_side_cursors: bool = False,
    test_suffix: str = "",
) -> tuple[dict[str, dict[str, Any]], dict[str, RegionAliases]]:
    """Return ``(DATABASES, REGION_ALIASES)``.

    ``parse_url`` is django-environ's ``db_url_config``.
    """

    def config(url: str, *, mirror: str | None) -> dict[str, Any]:
        cfg: dict[str, Any] = parse_url(url)
        cfg["CONN_MAX_AGE"] = 0 if pool else conn_max_age
        # A connection that died with its server (a restart, a failover) is noticed before a
        # request uses it, so the console recovers without a restart: persistent connections
        # are health-checked, and the pool checks each connection it hands out.
        cfg["CONN_HEALTH_CHECKS"] = conn_max_age > 0 and not pool
        options = cfg.setdefault("OPTIONS", {})
        if pool:
            # A request waits at most POOL_TIMEOUT_SECONDS for a connection: while the server is
            # away the pool cannot open one, and the request answers 503 instead of hanging
            # for psycopg-pool's default 30 s.
            options["pool"] = {
                "check": ConnectionPool.check_connection,
                "timeout": POOL_TIMEOUT_SECONDS,
            }
        cfg["DISABLE_SERVER_SIDE_CURSORS"] = disable_server_side_cursors
        if mirror:
            cfg["TEST"] = {"MIRROR": mirror}
        else:
            cfg["TEST"] = {"DEPENDENCIES": [], "NAME": f"test_{cfg['NAME']}{test_suffix}"}
        return cfg

    databases = {
        "default": config(main_url, mirror="owner"),
        "owner": config(owner_url, mirror=None),
        "platform": config(platform_url, mirror="owner"),
    }
    aliases: dict[str, RegionAliases] = {}
    owner_user, owner_password = _credentials(owner_url)
    platform_user, platform_password = _credentials(platform_url)
    for region in REGIONS:
        url = region_urls.get(region)
        if not url:
            aliases[region] = RegionAliases("default", "owner", "platform")
            continue
        owner_alias, platform_alias = f"{region}_owner", f"{region}_platform"
        databases[region] = config(url, mirror=owner_alias)
        databases[owner_alias] = config(
            with_credentials(url, owner_user, owner_password), mirror=None
        )
        databases[platform_alias] = config(
            with_credentials(url, platform_user, platform_password), mirror=owner_alias
        )
        aliases[region] = RegionAliases(region, owner_alias, platform_alias)
    return databases, aliases
