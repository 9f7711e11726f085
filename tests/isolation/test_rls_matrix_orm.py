"""The same attacks through the ORM: ``.unscoped()`` gets past the managers' filter, and the
database still refuses; the scoped managers refuse to run without a scope.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.apps import apps
from django.db import DatabaseError, models, transaction
from django.db.models import F

from tenancy.context import TenantContextMissing, context
from tests.isolation import probes
from tests.isolation.spec import (
    DELETE,
    INSERT,
    ORGANIZATIONS,
    UPDATE,
    Placement,
    placements,
    updatable_to,
    visible,
    writable,
)
from tests.isolation.world import (
    CONTEXTS,
    Ctx,
    IsolationWorld,
    leave_stale_context,
    matrix,
    probing,
)

PLACEMENTS = placements()
MATRIX = matrix(PLACEMENTS)


def _model(placement: Placement) -> type[models.Model]:
    return apps.get_model(placement.table.model)


def _unscoped(placement: Placement) -> models.QuerySet[Any]:
    manager: Any = _model(placement)._default_manager.db_manager(placement.alias)
    return manager.unscoped() if hasattr(manager, "unscoped") else manager.all()


def _attempt(alias: str, action: Callable[[], Any]) -> probes.Outcome:
    try:
        with transaction.atomic(using=alias):
            result = action()
    except DatabaseError as exc:
        return probes.Outcome(probes.classify(exc), 0)
    rows = result[0] if isinstance(result, tuple) else result
    return probes.Outcome(None, int(rows or 0))


def _noop_update(placement: Placement) -> dict[str, Any]:
    column = "name" if placement.table.kind == ORGANIZATIONS else "org_id"
    return {column: F(column)}


@pytest.mark.parametrize(("placement", "ctx"), MATRIX)
def test_unscoped_queryset_sees_only_what_the_database_allows(
    isolation_world: IsolationWorld, placement: Placement, ctx: Ctx
) -> None:
    rows = probes.rows_as_owner(isolation_world, placement)
    with probing(isolation_world, placement, ctx) as values:
        expected = {row["id"] for row in rows if visible(placement.table, values, row)}
        found = {str(pk) for pk in _unscoped(placement).values_list("pk", flat=True)}
        assert found == expected
        assert _unscoped(placement).count() == len(expected)
        hidden = [row["id"] for row in rows if row["id"] not in expected]
        assert not _unscoped(placement).filter(pk__in=hidden).exists()


@pytest.mark.parametrize(("placement", "ctx"), MATRIX)
def test_unscoped_update_and_delete_of_other_rows_touch_nothing(
    isolation_world: IsolationWorld, placement: Placement, ctx: Ctx
) -> None:
    table, alias = placement.table, placement.alias
    rows = probes.rows_as_owner(isolation_world, placement)
    with probing(isolation_world, placement, ctx) as values:
        denied = [r["id"] for r in rows if not writable(table, values, r, UPDATE)]
        queryset = _unscoped(placement).filter(pk__in=denied)
        assert _attempt(alias, lambda: queryset.update(**_noop_update(placement))).rows == 0
        # Visible but undeletable rows (system roles) stop in Python's collector first; the raw
        # SQL matrix proves the database refuses them too.
        hidden = [r["id"] for r in rows if not visible(table, values, r)]
        queryset = _unscoped(placement).filter(pk__in=hidden)
        assert _attempt(alias, queryset.delete) == probes.refusal(table, DELETE)


@pytest.mark.parametrize(("placement", "ctx"), MATRIX)
def test_orm_insert_into_another_scope_is_refused(
    isolation_world: IsolationWorld, placement: Placement, ctx: Ctx
) -> None:
    table, alias, model = placement.table, placement.alias, _model(placement)
    template_id = probes.sample_rows(isolation_world, placement)["A"]["id"]
    refused = 0
    with probing(isolation_world, placement, ctx) as values:
        for target, patch in probes.scope_patches(isolation_world, placement).items():
            instance = model._base_manager.using(placement.owner_alias).get(pk=template_id)
            changes = {"id": uuid.uuid4(), **patch}
            for attname, value in changes.items():
                setattr(instance, attname, value)
            row = probes.with_patch(probes.sample_rows(isolation_world, placement)["A"], changes)
            if writable(table, values, row, INSERT):
                continue
            outcome = _attempt(alias, partial(instance.save, using=alias, force_insert=True))
            assert outcome.refused_by_rls, f"ORM insert into {target}'s scope: {outcome}"
            refused += 1
    assert refused


@pytest.mark.parametrize(
    ("placement", "ctx"), matrix([p for p in PLACEMENTS if p.table.kind != ORGANIZATIONS])
)
def test_orm_update_cannot_move_a_row_to_another_scope(
    isolation_world: IsolationWorld, placement: Placement, ctx: Ctx
) -> None:
    table, alias = placement.table, placement.alias
    with probing(isolation_world, placement, ctx) as values:
        for source, row in probes.sample_rows(isolation_world, placement).items():
            for target, patch in probes.scope_patches(isolation_world, placement).items():
                if updatable_to(table, values, row, probes.with_patch(row, patch)):
                    continue
                queryset = _unscoped(placement).filter(pk=row["id"])
                outcome = _attempt(alias, partial(queryset.update, **patch))
                if writable(table, values, row, UPDATE):
                    assert outcome.refused_by_rls, f"move {source} -> {target}: {outcome}"
                else:
                    wanted = probes.refusal(table, UPDATE)
                    assert outcome == wanted, f"move {source} -> {target}"


SCOPED_PLACEMENTS = [p for p in PLACEMENTS if p.table.kind != ORGANIZATIONS]


@pytest.mark.parametrize("placement", SCOPED_PLACEMENTS, ids=lambda p: p.id)
def test_scoped_manager_refuses_to_run_without_a_scope(
    isolation_world: IsolationWorld, placement: Placement
) -> None:
    manager = _model(placement)._default_manager.db_manager(placement.alias)
    with pytest.raises(TenantContextMissing):
        list(manager.all())
    leave_stale_context(isolation_world, placement)
    with pytest.raises(TenantContextMissing):
        manager.count()


@pytest.mark.parametrize("placement", SCOPED_PLACEMENTS, ids=lambda p: p.id)
@pytest.mark.parametrize("ctx", [c for c in CONTEXTS if c.expressible], ids=lambda c: c.name)
def test_scoped_manager_never_returns_more_than_the_database_allows(
    isolation_world: IsolationWorld, placement: Placement, ctx: Ctx
) -> None:
    rows = probes.rows_as_owner(isolation_world, placement)
    values = ctx.settings_for(isolation_world, placement.party_region)
    manager = _model(placement)._default_manager.db_manager(placement.alias)
    with context(
        org_id=values.org_id, customer_id=values.tenant_id, role=ctx.role, region=placement.region
    ):
        found = {str(pk) for pk in manager.values_list("pk", flat=True)}
    allowed = {row["id"] for row in rows if visible(placement.table, values, row)}
    assert found <= allowed
    own = {
        row["id"] for row in rows if probes.owner_of(isolation_world, placement, row) == ctx.party
    }
    if placement.table.customer_column and ctx.party:
        assert found == own & allowed
