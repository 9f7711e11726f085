"""The system check of SPEC §5.3 passes on the test databases and fails when FORCE is missing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connections

from tests import conftest

PROBE = "iso_check_probe"


def test_manage_py_check_database_default_passes(unwrapped_db: None) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--database", "default"],
        cwd=settings.BASE_DIR,
        env={**os.environ, **conftest.test_database_environment()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _owner(sql: str) -> None:
    with connections["owner"].cursor() as cursor:
        cursor.execute(sql)


def test_check_reports_a_scoped_table_without_force(unwrapped_db: None) -> None:
    """A throwaway table, so the shared test databases are never left altered."""
    _owner(f"CREATE TABLE {PROBE} (id uuid PRIMARY KEY, org_id uuid NOT NULL)")
    try:
        _owner(f"ALTER TABLE {PROBE} ENABLE ROW LEVEL SECURITY")
        _owner(f"ALTER TABLE {PROBE} FORCE ROW LEVEL SECURITY")
        _owner(
            f"CREATE POLICY tenant_org ON {PROBE} TO fastn_app "
            "USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid)"
        )
        call_command("check", databases=["default"])
        _owner(f"ALTER TABLE {PROBE} NO FORCE ROW LEVEL SECURITY")
        with pytest.raises(SystemCheckError, match=f"table {PROBE} lacks ENABLE \\+ FORCE"):
            call_command("check", databases=["default"])
    finally:
        _owner(f"DROP TABLE {PROBE}")
    call_command("check", databases=["default"])
