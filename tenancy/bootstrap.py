"""Create the three logins and the four databases, idempotently (``manage.py db_bootstrap``).

With no database URLs configured, the URLs are derived from ``DATABASE_BOOTSTRAP_URL`` (same
server, logins ``fastn_owner`` / ``fastn_app`` / ``fastn_platform`` with generated passwords,
databases ``fastn``, ``fastn_us``, ``fastn_eu``, ``fastn_apac``) and written into ``.env``.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import environ
import psycopg
from psycopg import sql

from tenancy.databases import REGIONS, parse_region_urls, with_credentials

DERIVED_MARKER = "# Derived by manage.py db_bootstrap from DATABASE_BOOTSTRAP_URL"
URL_KEYS = ("DATABASE_URL", "DATABASE_OWNER_URL", "DATABASE_PLATFORM_URL", "REGION_DATABASE_URLS")


@dataclass(frozen=True)
class Login:
    name: str
    password: str


@dataclass(frozen=True)
class Plan:
    owner: Login
    app: Login
    platform: Login
    databases: tuple[str, ...]
    env_updates: dict[str, str]


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            match = re.match(r"^\s*([A-Z0-9_]+)\s*=\s*(.*)$", line)
            if match:
                values[match.group(1)] = match.group(2).strip().strip("'\"")
    return values


def write_env_values(path: Path, updates: dict[str, str]) -> None:
    """Replace or append ``updates`` in ``path``, keeping every other line."""
    lines = path.read_text().splitlines() if path.exists() else []
    remaining = dict(updates)
    out: list[str] = []
    for line in lines:
        match = re.match(r"^\s*([A-Z0-9_]+)\s*=", line)
        if match and match.group(1) in remaining:
            out.append(f"{match.group(1)}={remaining.pop(match.group(1))}")
        else:
            out.append(line)
    if remaining:
        if DERIVED_MARKER not in out:
            out.append(DERIVED_MARKER)
        out.extend(f"{key}={value}" for key, value in remaining.items())
    path.write_text("\n".join(out) + "\n")
    path.chmod(0o600)


def _login(url: str) -> Login:
    parts = urlsplit(url)
    return Login(unquote(parts.username or ""), unquote(parts.password or ""))


def _dbname(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def _with_db(url: str, login: Login, dbname: str) -> str:
    return urlsplit(with_credentials(url, login.name, login.password))._replace(
        path="/" + dbname, query=""
    ).geturl() + _query_suffix(url)


def _query_suffix(url: str) -> str:
    query = urlsplit(url).query
    return f"?{query}" if query else ""


def plan(bootstrap_url: str, environment: dict[str, str], env_file: dict[str, str]) -> Plan:
    """Decide the logins, databases and ``.env`` updates. Explicit settings win; URLs derived
    earlier are derived again (so a new bootstrap server is followed) keeping their passwords."""
    explicit = {key: environment[key] for key in URL_KEYS if environment.get(key)}
    derived_before = {key: env_file[key] for key in URL_KEYS if env_file.get(key)}
    explicit = {k: v for k, v in explicit.items() if derived_before.get(k) != v}
    updates: dict[str, str] = {}
    if explicit.get("DATABASE_URL"):
        main = explicit["DATABASE_URL"]
        owner_url = explicit.get("DATABASE_OWNER_URL", "")
        platform_url = explicit.get("DATABASE_PLATFORM_URL", "")
        if not owner_url or not platform_url:
            raise ValueError("Set DATABASE_OWNER_URL and DATABASE_PLATFORM_URL with DATABASE_URL.")
        regions = parse_region_urls(explicit.get("REGION_DATABASE_URLS", ""))
        app, owner, platform = _login(main), _login(owner_url), _login(platform_url)
        names = [_dbname(main), *(_dbname(url) for url in regions.values())]
    else:
        previous_app = _login(derived_before.get("DATABASE_URL", "postgres://x@h/x"))
        previous_owner = _login(derived_before.get("DATABASE_OWNER_URL", "postgres://x@h/x"))
        previous_platform = _login(derived_before.get("DATABASE_PLATFORM_URL", "postgres://x@h/x"))

        def keep(previous: Login, name: str) -> Login:
            if previous.name == name and previous.password:
                return previous
            return Login(name, secrets.token_urlsafe(24))

        app = keep(previous_app, "fastn_app")
        owner = keep(previous_owner, "fastn_owner")
        platform = keep(previous_platform, "fastn_platform")
        main_name = environment.get("FASTN_DATABASE_NAME", "fastn")
        names = [main_name, *(f"{main_name}_{region}" for region in REGIONS)]
        updates = {
            "DATABASE_URL": _with_db(bootstrap_url, app, main_name),
            "DATABASE_OWNER_URL": _with_db(bootstrap_url, owner, main_name),
            "DATABASE_PLATFORM_URL": _with_db(bootstrap_url, platform, main_name),
            "REGION_DATABASE_URLS": ",".join(
                f"{region}={_with_db(bootstrap_url, app, f'{main_name}_{region}')}"
                for region in REGIONS
            ),
        }
    for key, generate in (
        ("FIELD_ENCRYPTION_KEYS", lambda: base64.urlsafe_b64encode(os.urandom(32)).decode()),
        ("EMBED_TOKEN_KEY", lambda: secrets.token_urlsafe(48)),
    ):
        if not environment.get(key) and not env_file.get(key):
            updates[key] = generate()
    return Plan(owner, app, platform, tuple(dict.fromkeys(names)), updates)


def _connect(url: str) -> psycopg.Connection[Any]:
    cfg = environ.Env.db_url_config(url)
    options = dict(cfg.get("OPTIONS") or {})
    # A unix-socket folder arrives as ?host=/path (an OPTIONS entry), which wins over HOST.
    return psycopg.connect(
        host=options.pop("host", None) or cfg.get("HOST") or None,
        port=cfg.get("PORT") or None,
        user=cfg.get("USER") or None,
        password=cfg.get("PASSWORD") or None,
        dbname=cfg.get("NAME") or "postgres",
        autocommit=True,
    )


def apply(bootstrap_url: str, chosen: Plan, log: Any = print) -> None:
    with _connect(bootstrap_url) as conn:
        for login, attributes in (
            (chosen.owner, "LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS NOCREATEROLE"),
            (chosen.app, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
            (chosen.platform, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
        ):
            exists = conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", [login.name]
            ).fetchone()
            verb = "ALTER" if exists else "CREATE"
            statement = sql.SQL(f"{verb} ROLE {{}} WITH {attributes} PASSWORD {{}}").format(
                sql.Identifier(login.name), sql.Literal(login.password or None)
            )
            conn.execute(statement)
            log(f"{'Updated' if exists else 'Created'} login {login.name}")
        is_super = conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        if not (is_super and is_super[0]):
            conn.execute(
                sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(chosen.owner.name))
            )
        for name in chosen.databases:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists:
                conn.execute(
                    sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                        sql.Identifier(name), sql.Identifier(chosen.owner.name)
                    )
                )
                log(f"Database {name} exists (owner {chosen.owner.name})")
            else:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(name), sql.Identifier(chosen.owner.name)
                    )
                )
                log(f"Created database {name} (owner {chosen.owner.name})")
