"""The catalog of every database proves the protections exist — and each rule is shown to fail
on a scratch object created as the owner inside a transaction that is rolled back."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import connections, transaction

from tenancy.checks import APPEND_ONLY_TABLES
from tests.conftest import ALL_DATABASES
from tests.isolation import catalog
from tests.isolation.spec import COMPOSITE_KEYS, DELETE, SCOPED_TABLES, UPDATE

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

RUNTIME_ALIASES = list(
    dict.fromkeys(["default", *(a.runtime for a in settings.TENANCY_REGION_ALIASES.values())])
)
REGION_OWNER = settings.TENANCY_REGION_ALIASES[settings.TENANCY_REGIONS[0]].owner


@pytest.mark.parametrize("alias", RUNTIME_ALIASES)
@pytest.mark.parametrize("check", list(catalog.CHECKS))
def test_catalog_of_every_database_is_clean(alias: str, check: str) -> None:
    assert catalog.CHECKS[check](alias) == []


def test_every_database_has_its_planes_tables() -> None:
    main = set(catalog.tables("default"))
    assert {t for t in SCOPED_TABLES if not catalog.is_data_plane(t)} <= main
    for alias in RUNTIME_ALIASES[1:]:
        assert {t for t in SCOPED_TABLES if catalog.is_data_plane(t)} <= set(catalog.tables(alias))


def test_every_scoped_table_is_probed_by_the_adversarial_matrix() -> None:
    """A table added later is attacked too: add it to ``tests/isolation/spec.py`` and the
    isolation world (``tests/isolation/world.py``)."""
    scoped = {
        table.name
        for alias in RUNTIME_ALIASES
        for table in catalog.tables(alias).values()
        if table.scoped
    }
    assert scoped == set(SCOPED_TABLES)


def test_the_append_only_tables_are_those_the_spec_grants_no_update_or_delete() -> None:
    assert set(APPEND_ONLY_TABLES) == {
        name
        for name, table in SCOPED_TABLES.items()
        if not (table.granted(UPDATE) or table.granted(DELETE))
    }


def test_every_composite_foreign_key_is_attacked() -> None:
    found = {
        (key.child, pair[0])
        for alias in RUNTIME_ALIASES
        for key in catalog.foreign_keys(alias)
        if len(key.pairs) > 1
        for pair in key.pairs
        if pair[0] != pair[1]
    }
    assert found == {(key.child, key.column) for key in COMPOSITE_KEYS}


def test_composite_foreign_keys_are_not_deferrable() -> None:
    composite = [k for a in RUNTIME_ALIASES for k in catalog.foreign_keys(a) if len(k.pairs) > 1]
    assert composite and not any(key.deferrable for key in composite)


SCRATCH = "iso_scratch"
APP_POLICY = (
    f"CREATE POLICY tenant_org ON {SCRATCH} TO fastn_app "
    "USING (org_id = NULLIF(current_setting('app.org_id', true), '')::uuid)"
)
OWNER_POLICY = (
    f"CREATE POLICY owner_maintenance ON {SCRATCH} TO fastn_owner USING (true) WITH CHECK (true)"
)
CREATE = f"CREATE TABLE {SCRATCH} (id uuid PRIMARY KEY, org_id uuid NOT NULL)"
PROTECT = [
    CREATE,
    f"ALTER TABLE {SCRATCH} ENABLE ROW LEVEL SECURITY",
    f"ALTER TABLE {SCRATCH} FORCE ROW LEVEL SECURITY",
    APP_POLICY,
    OWNER_POLICY,
]

# (owner alias, DDL, catalog check, expected fragment of the problem)
BREAKAGES: dict[str, tuple[str, list[str], Callable[[str], list[str]], str]] = {
    "org table without rls": ("owner", [CREATE], catalog.rls_problems, "FORCE"),
    "rls enabled but not forced": (
        "owner",
        [CREATE, f"ALTER TABLE {SCRATCH} ENABLE ROW LEVEL SECURITY", APP_POLICY, OWNER_POLICY],
        catalog.rls_problems,
        f"{SCRATCH}: lacks ENABLE + FORCE",
    ),
    "force removed from a real table": (
        REGION_OWNER,
        ["ALTER TABLE dataplane_connection NO FORCE ROW LEVEL SECURITY"],
        catalog.rls_problems,
        "dataplane_connection: lacks ENABLE + FORCE",
    ),
    "no policy for the runtime login": (
        "owner",
        [*PROTECT[:3], OWNER_POLICY],
        catalog.rls_problems,
        f"{SCRATCH}: no permissive policy",
    ),
    "customer rule dropped": (
        REGION_OWNER,
        ["DROP POLICY scope_customer ON dataplane_executionlog"],
        catalog.rls_problems,
        "dataplane_executionlog: no policy on app.tenant_id for fastn_app_customer",
    ),
    "customer rule that ignores the organization": (
        REGION_OWNER,
        [
            "ALTER POLICY scope_customer ON dataplane_executionlog "
            "USING (customer_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
        ],
        catalog.rls_problems,
        "dataplane_executionlog: no policy on app.tenant_id for fastn_app_customer",
    ),
    "organization rule dropped": (
        REGION_OWNER,
        ["DROP POLICY scope_organization ON dataplane_connection"],
        catalog.rls_problems,
        "dataplane_connection: no policy on app.org_id for fastn_app_organization",
    ),
    "a policy for the runtime login itself on a region database": (
        REGION_OWNER,
        ["CREATE POLICY iso_direct ON dataplane_event TO fastn_app USING (true)"],
        catalog.rls_problems,
        "dataplane_event: a policy for fastn_app itself: iso_direct",
    ),
    "no owner_maintenance": (
        "owner",
        PROTECT[:4],
        catalog.rls_problems,
        f"{SCRATCH}: no owner_maintenance",
    ),
    "table without org_id not allow-listed": (
        "owner",
        [f"CREATE TABLE {SCRATCH} (id uuid PRIMARY KEY)"],
        catalog.allow_list_problems,
        f"{SCRATCH}: has no org_id",
    ),
    "data-plane key without customer_id": (
        REGION_OWNER,
        [
            "ALTER TABLE dataplane_executionlog ADD CONSTRAINT iso_bad_fk "
            "FOREIGN KEY (workflow_id) REFERENCES dataplane_workflow (id)"
        ],
        catalog.foreign_key_problems,
        "iso_bad_fk on dataplane_executionlog -> dataplane_workflow: foreign key lacks customer_id",
    ),
    "deferrable composite key": (
        REGION_OWNER,
        [
            "ALTER TABLE dataplane_executionlog ADD CONSTRAINT iso_deferred_fk "
            "FOREIGN KEY (customer_id, workflow_id) REFERENCES dataplane_workflow (customer_id, id) "
            "DEFERRABLE INITIALLY DEFERRED"
        ],
        catalog.foreign_key_problems,
        "iso_deferred_fk on dataplane_executionlog: composite key is DEFERRABLE",
    ),
    "control-plane key without org_id": (
        "owner",
        [
            "ALTER TABLE roles_invitation ADD CONSTRAINT iso_bad_fk "
            "FOREIGN KEY (role_id) REFERENCES roles_role (id)"
        ],
        catalog.foreign_key_problems,
        "iso_bad_fk on roles_invitation -> roles_role: foreign key lacks org_id",
    ),
    "data-plane unique index without customer_id": (
        REGION_OWNER,
        ["CREATE UNIQUE INDEX iso_bad_unique ON dataplane_configuration (key, id)"],
        catalog.unique_index_problems,
        "iso_bad_unique on dataplane_configuration: unique index lacks customer_id",
    ),
    "update granted on the audit log": (
        "owner",
        ["GRANT UPDATE ON audit_auditlogentry TO fastn_app"],
        catalog.append_only_problems,
        "holds UPDATE on the append-only table audit_auditlogentry",
    ),
    "delete policy on the audit log": (
        "owner",
        [
            "CREATE POLICY iso_erase ON audit_auditlogentry AS PERMISSIVE FOR DELETE "
            "TO fastn_app USING (true)"
        ],
        catalog.append_only_problems,
        "append-only table audit_auditlogentry: iso_erase",
    ),
    "control-plane unique index without org_id": (
        "owner",
        ["CREATE UNIQUE INDEX iso_bad_unique ON build_connector (slug, id)"],
        catalog.unique_index_problems,
        "iso_bad_unique on build_connector: unique index lacks org_id",
    ),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_catalog_check_reports_missing_protection(breakage: str) -> None:
    alias, statements, check, expected = BREAKAGES[breakage]
    assert not [p for p in check(alias) if expected in p]
    with transaction.atomic(using=alias):
        with connections[alias].cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        problems = check(alias)
        transaction.set_rollback(True, using=alias)
    assert [p for p in problems if expected in p], problems
    assert not [p for p in check(alias) if expected in p]
