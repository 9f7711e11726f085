"""The migration operations that tighten an existing table reverse cleanly and apply again."""

from __future__ import annotations

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from tenancy.operations import RestrictToSubjectCustomer, RestrictWritesToOrganization
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _policies(table: str) -> set[str]:
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT policyname FROM pg_policies WHERE tablename = %s", [table])
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize(
    ("app_label", "operation", "table", "policies"),
    [
        (
            "api",
            RestrictToSubjectCustomer("usagerecord", "subject_customer_id"),
            "api_usagerecord",
            {"tenant_subject_customer"},
        ),
        (
            "build",
            RestrictWritesToOrganization("connector"),
            "build_connector",
            {"organization_role_insert", "organization_role_update", "organization_role_delete"},
        ),
    ],
)
def test_backwards_drops_exactly_its_policies_and_forwards_restores_them(
    app_label, operation, table, policies
) -> None:
    connection = connections["owner"]
    state = MigrationExecutor(connection).loader.project_state()
    before = _policies(table)
    assert policies <= before
    with connection.schema_editor(atomic=True) as editor:
        operation.database_backwards(app_label, editor, state, state)
    assert _policies(table) == before - policies
    with connection.schema_editor(atomic=True) as editor:
        operation.database_forwards(app_label, editor, state, state)
    assert _policies(table) == before
