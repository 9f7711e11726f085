"""``manage.py migrate`` migrates every database as its owner, main database first."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tenancy.router import migration_aliases
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def test_plain_migrate_runs_on_every_owner_alias_main_first() -> None:
    out = io.StringIO()
    call_command("migrate", interactive=False, verbosity=1, stdout=out)
    migrated = [
        line.split()[1] for line in out.getvalue().splitlines() if line.startswith("Migrating ")
    ]
    assert migrated == migration_aliases()
    assert migrated[0] == "owner" and len(migrated) == 4  # main + us, eu, apac
    assert "default" not in migrated


def test_migrate_with_a_database_runs_on_that_one_only() -> None:
    out = io.StringIO()
    call_command("migrate", database="eu_owner", interactive=False, verbosity=1, stdout=out)
    assert "Migrating " not in out.getvalue()
    assert "No migrations to apply" in out.getvalue()
