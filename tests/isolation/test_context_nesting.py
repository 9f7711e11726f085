"""``tenancy.context`` nests: an inner scope never leaks into the outer one, whether it ends
normally, by a savepoint rollback or by an exception, on the main and the region databases."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import IntegrityError, connections, transaction

from tenancy.context import CUSTOMER, ORGANIZATION, context, current_scope, region_alias
from tests.isolation.world import IsolationWorld

REGION = settings.TENANCY_REGIONS[0]
NAMES = ("app.user_id", "app.org_id", "app.tenant_id", "app.role")


def _settings(alias: str) -> tuple[str, ...]:
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(f"coalesce(current_setting('{n}', true), '')" for n in NAMES)
        )
        return tuple(cursor.fetchone())


def _aliases() -> list[str]:
    return list(dict.fromkeys(["default", region_alias(REGION)]))


def _expected(isolation_world: IsolationWorld, key: str | None, role: str) -> tuple[str, ...]:
    if key is None:
        return ("", str(isolation_world.org_id("acme")), "", role)
    party = isolation_world.party(key, REGION)
    return ("", str(party.org_id), str(party.customer_id), role)


@pytest.mark.parametrize("inner_role", [ORGANIZATION, CUSTOMER])
def test_inner_context_restores_the_outer_values_on_every_alias(
    isolation_world: IsolationWorld, inner_role: str
) -> None:
    a, b = isolation_world.party("A", REGION), isolation_world.party("B", REGION)
    outer = _expected(isolation_world, "A", ORGANIZATION)
    with context(org_id=a.org_id, customer_id=a.customer_id):
        assert all(_settings(alias) == outer for alias in _aliases())
        with context(org_id=b.org_id, customer_id=b.customer_id, role=inner_role):
            assert all(
                _settings(alias) == _expected(isolation_world, "B", inner_role)
                for alias in _aliases()
            )
        assert all(_settings(alias) == outer for alias in _aliases())
        scope = current_scope()
        assert scope is not None and scope.customer_id == a.customer_id
    assert current_scope() is None


def test_savepoint_rollback_inside_an_inner_context_restores_the_outer_values(
    isolation_world: IsolationWorld,
) -> None:
    a, g = isolation_world.party("A", REGION), isolation_world.party("G", REGION)
    outer = _expected(isolation_world, "A", ORGANIZATION)
    with context(org_id=a.org_id, customer_id=a.customer_id):
        with transaction.atomic(using="default"):
            with context(org_id=g.org_id, customer_id=g.customer_id, role=CUSTOMER):
                transaction.set_rollback(True, using="default")
        assert _settings("default") == outer
        with transaction.atomic(using="default"):
            sid = transaction.savepoint_create(using="default")
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT set_config('app.org_id', %s, true)", [str(g.org_id)])
            transaction.savepoint_rollback(sid, using="default")
            assert _settings("default") == outer


def test_exception_in_an_inner_context_restores_the_outer_values(
    isolation_world: IsolationWorld,
) -> None:
    a, b = isolation_world.party("A", REGION), isolation_world.party("B", REGION)
    outer = _expected(isolation_world, "A", ORGANIZATION)
    with context(org_id=a.org_id, customer_id=a.customer_id):
        with pytest.raises(LookupError):
            with context(org_id=b.org_id, customer_id=b.customer_id):
                raise LookupError
        assert all(_settings(alias) == outer for alias in _aliases())


def test_database_error_in_an_inner_context_propagates_unchanged(
    isolation_world: IsolationWorld,
) -> None:
    """A failed statement aborts the inner savepoint; restoring the outer values must not
    replace the original error with "current transaction is aborted"."""
    a, b = isolation_world.party("A", REGION), isolation_world.party("B", REGION)
    outer = _expected(isolation_world, "A", ORGANIZATION)
    with context(org_id=a.org_id, customer_id=a.customer_id):
        with pytest.raises(IntegrityError):
            with context(org_id=b.org_id, customer_id=b.customer_id):
                with connections["default"].cursor() as cursor:
                    cursor.execute(
                        "INSERT INTO customers_customer (id, org_id, name, slug, status, region, "
                        "created_at) VALUES (gen_random_uuid(), %s, NULL, 'x', 'active', 'us', "
                        "now())",
                        [str(b.org_id)],
                    )
        assert all(_settings(alias) == outer for alias in _aliases())


def test_leaving_the_outermost_context_leaves_nothing_on_the_connection(
    isolation_world: IsolationWorld,
) -> None:
    a = isolation_world.party("A", REGION)
    with context(org_id=a.org_id, customer_id=a.customer_id):
        pass
    for alias in _aliases():
        with transaction.atomic(using=alias):
            assert _settings(alias) == ("", "", "", "")
