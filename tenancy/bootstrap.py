"""Create the three logins, the runtime login's two scope roles and the four databases,
idempotently (``manage.py db_bootstrap``).

With no database URLs configured, the URLs are derived from ``DATABASE_BOOTSTRAP_URL`` (same
server, logins ``fastn_owner`` / ``fastn_app`` / ``fastn_platform`` with generated passwords,
databases ``fastn``, ``fastn_us``, ``fastn_eu``, ``fastn_apac``) and written into ``.env``.

With explicit URLs, a region database whose URL names another server than the main database is
created on that server, and the three logins on every server (logins belong to a server, not to
a database). Such a server is reached with its entry in ``REGION_BOOTSTRAP_URLS``
(``eu=postgres://admin:…@eu-db/postgres,…``) or else with ``DATABASE_BOOTSTRAP_URL``'s login, the
way a region URL reuses the owner's and the platform's credentials.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

import environ
import psycopg
from psycopg import sql

from tenancy.databases import REGIONS, parse_region_urls, with_credentials
from tenancy.logins import scope_role_names

DERIVED_MARKER = "# Derived by manage.py db_bootstrap from DATABASE_BOOTSTRAP_URL"
URL_KEYS = ("DATABASE_URL", "DATABASE_OWNER_URL", "DATABASE_PLATFORM_URL", "REGION_DATABASE_URLS")


@dataclass(frozen=True)
class Login:
    name: str
    password: str


class Server(NamedTuple):
    """Where a database lives, as libpq reads it from a URL (empty: libpq's default)."""

    host: str
    port: str


class Admin(NamedTuple):
    """How bootstrap reaches one server: ``url``'s login (CREATEROLE, CREATEDB) on ``server``."""

    url: str
    server: Server


@dataclass(frozen=True)
class Plan:
    owner: Login
    app: Login
    platform: Login
    databases: tuple[tuple[Admin, str], ...]
    env_updates: dict[str, str]
    # Bounds for every session of the runtime and platform logins (SPEC §15): no statement runs
    # longer, and no transaction sits idle holding locks longer, than this.
    statement_timeout: str = "30s"


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


def _server(url: str) -> Server:
    cfg = environ.Env.db_url_config(url)
    options = cfg.get("OPTIONS") or {}
    # A unix-socket folder arrives as ?host=/path&port=… (OPTIONS entries), which win.
    host = options.get("host") or cfg.get("HOST") or ""
    return Server(str(host), str(options.get("port") or cfg.get("PORT") or ""))


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
        try:
            region_admins = parse_region_urls(environment.get("REGION_BOOTSTRAP_URLS", ""))
        except ValueError as exc:
            raise ValueError(str(exc).replace("REGION_DATABASE", "REGION_BOOTSTRAP")) from None
        main_admin = Admin(bootstrap_url, _server(bootstrap_url))

        def admin_for(region: str, url: str) -> Admin:
            if region in region_admins:
                return Admin(region_admins[region], _server(region_admins[region]))
            if _server(url) == _server(main):
                return main_admin
            return Admin(bootstrap_url, _server(url))

        names = [
            (main_admin, _dbname(main)),
            *((admin_for(region, url), _dbname(url)) for region, url in regions.items()),
        ]
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
        main_admin = Admin(bootstrap_url, _server(bootstrap_url))
        names = [(main_admin, main_name), *((main_admin, f"{main_name}_{r}") for r in REGIONS)]
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
    timeout = environment.get("DATABASE_STATEMENT_TIMEOUT") or "30s"
    if not re.fullmatch(r"[1-9][0-9]*(ms|s|min)?", timeout):
        raise ValueError("DATABASE_STATEMENT_TIMEOUT is a duration such as 30s, 500ms or 2min.")
    return Plan(owner, app, platform, tuple(dict.fromkeys(names)), updates, timeout)


def _connect(url: str, server: Server) -> psycopg.Connection[Any]:
    """``url``'s login and database on ``server``."""
    cfg = environ.Env.db_url_config(url)
    return psycopg.connect(
        host=server.host or None,
        port=server.port or None,
        user=cfg.get("USER") or None,
        password=cfg.get("PASSWORD") or None,
        dbname=cfg.get("NAME") or "postgres",
        autocommit=True,
    )


def apply(bootstrap_url: str, chosen: Plan, log: Any = print) -> None:
    """Create the logins and databases of ``chosen`` on every server it names; ``chosen`` records
    how each server is reached (``bootstrap_url``, the URL it was planned with, reaches the main
    one)."""
    servers: dict[Admin, list[str]] = {}
    for admin, name in chosen.databases:
        servers.setdefault(admin, []).append(name)
    for admin, names in servers.items():
        if len(servers) > 1:
            server = admin.server
            log(f"On {server.host or 'the default host'}:{server.port or 'the default port'}")
        _apply_on_server(admin, names, chosen, log)


def _apply_on_server(admin: Admin, names: list[str], chosen: Plan, log: Any) -> None:
    with _connect(admin.url, admin.server) as conn:
        for login, attributes in (
            (chosen.owner, "LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS NOCREATEROLE"),
            # NOINHERIT: the scope roles' privileges and policies reach the runtime login only
            # once ``tenancy.context`` enters one (SET ROLE), never by membership alone.
            (chosen.app, "LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
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
        for role in scope_role_names(chosen.app.name):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(
                    f"{verb} ROLE {{}} WITH NOLOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB "
                    "NOCREATEROLE"
                ).format(sql.Identifier(role))
            )
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(
                    sql.Identifier(role), sql.Identifier(chosen.app.name)
                )
            )
            log(f"{'Updated' if exists else 'Created'} scope role {role} of {chosen.app.name}")
        for login in (chosen.app, chosen.platform):
            for parameter in ("statement_timeout", "idle_in_transaction_session_timeout"):
                conn.execute(
                    sql.SQL("ALTER ROLE {} SET {} = {}").format(
                        sql.Identifier(login.name),
                        sql.Identifier(parameter),
                        sql.Literal(chosen.statement_timeout),
                    )
                )
        log(
            f"Statements of {chosen.app.name} and {chosen.platform.name} end after "
            f"{chosen.statement_timeout}"
        )
        is_super = conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        if not (is_super and is_super[0]):
            conn.execute(
                sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(chosen.owner.name))
            )
        for name in names:
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
