"""Every scoped table, every context, raw SQL as ``fastn_app``: PostgreSQL itself refuses.

Contexts: customer A (with every ``app.role`` value), customer B of the same organization,
customer G of another organization, organization-wide, none, and stale (a committed transaction
in context A just before, on the same connection). Operations: list, count, read by id, update,
delete, insert into another scope, move a row to another scope, upsert on another scope's key.
What is allowed comes from ``tests.isolation.spec`` (SPEC §5.5); everything else must be refused.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

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
from tests.isolation.world import Ctx, IsolationWorld, matrix, probing

PLACEMENTS = placements()
MATRIX = matrix(PLACEMENTS)
MOVABLE = matrix([p for p in PLACEMENTS if p.table.kind != ORGANIZATIONS])


@pytest.mark.parametrize("placement", PLACEMENTS, ids=lambda p: p.id)
def test_world_has_rows_of_both_organizations_and_all_customers(
    isolation_world: IsolationWorld, placement: Placement
) -> None:
    owners = {
        probes.owner_of(isolation_world, placement, row)
        for row in probes.rows_as_owner(isolation_world, placement)
    }
    wanted = {"A", "G"} if placement.table.customer_column is None else {"A", "B", "G"}
    assert wanted <= owners


@pytest.mark.parametrize(("placement", "ctx"), MATRIX)
def test_list_and_count_show_exactly_the_rows_the_scope_allows(
    isolation_world: IsolationWorld, placement: Placement, ctx: Ctx
) -> None:
    rows = probes.rows_as_owner(isolation_world, placement)
    with probing(isolation_world, placement, ctx) as values:
        expected = {row["id"] for row in rows if visible(placement.table, values, row)}
        assert probes.visible_ids(placement.alias, placement.table.name) == expected
        assert probes.count(placement.alias, placement.table.name) == len(expected)
    if ctx.org is None:
        assert expected == (
            {r["id"] for r in rows} if placement.table.kind == ORGANIZATIONS else set()
        )


@pytest.mark.parametrize(("placement", "ctx"), MATRIX)
def test_rows_outside_the_scope_cannot_be_read_updated_or_deleted_by_id(
    isolation_world: IsolationWorld, placement: Placement, ctx: Ctx
) -> None:
    table, alias = placement.table, placement.alias
    rows = probes.rows_as_owner(isolation_world, placement)
    with probing(isolation_world, placement, ctx) as values:
        hidden = [r["id"] for r in rows if not visible(table, values, r)]
        for row_id in hidden[:3]:
            assert probes.select_by_ids(alias, table.name, [row_id]) == 0
        assert probes.select_by_ids(alias, table.name, hidden) == 0
        for command, attempt in ((UPDATE, probes.update_by_ids), (DELETE, probes.delete_by_ids)):
            denied = [r["id"] for r in rows if not writable(table, values, r, command)]
            assert attempt(alias, table.name, denied) == probes.refusal(table, command), command
        allowed = [r["id"] for r in rows if updatable_to(table, values, r, r)]
        assert probes.update_by_ids(alias, table.name, allowed).rows == len(allowed)


@pytest.mark.parametrize(("placement", "ctx"), MATRIX)
def test_rows_cannot_be_inserted_into_another_scope(
    isolation_world: IsolationWorld, placement: Placement, ctx: Ctx
) -> None:
    table = placement.table
    templates = probes.sample_rows(isolation_world, placement)
    refused = 0
    with probing(isolation_world, placement, ctx) as values:
        for target, patch in probes.scope_patches(isolation_world, placement).items():
            row = probes.with_patch(templates["A"], {"id": uuid.uuid4(), **patch})
            if writable(table, values, row, INSERT):
                continue
            outcome = probes.insert(placement.alias, table.name, row)
            assert outcome.refused_by_rls, f"insert into {target}'s scope: {outcome}"
            refused += 1
    assert refused, "every context is refused some other scope"


@pytest.mark.parametrize(("placement", "ctx"), MOVABLE)
def test_rows_cannot_be_moved_to_another_scope(
    isolation_world: IsolationWorld, placement: Placement, ctx: Ctx
) -> None:
    table = placement.table
    with probing(isolation_world, placement, ctx) as values:
        for source, row in probes.sample_rows(isolation_world, placement).items():
            for target, patch in probes.scope_patches(isolation_world, placement).items():
                new = probes.with_patch(row, patch)
                if updatable_to(table, values, row, new):
                    continue
                outcome = probes.move(placement.alias, table.name, row["id"], patch)
                if writable(table, values, row, UPDATE):
                    assert outcome.refused_by_rls, f"move {source} -> {target}: {outcome}"
                else:
                    wanted = probes.refusal(table, UPDATE)
                    assert outcome == wanted, f"move {source} -> {target}"


def _own_scope(values: Any, placement: Placement) -> dict[str, Any]:
    if placement.table.kind == ORGANIZATIONS or values.org_id is None:
        return {}
    patch: dict[str, Any] = {"org_id": values.org_id}
    if placement.table.customer_column == "customer_id" and values.tenant_id is not None:
        patch["customer_id"] = values.tenant_id
    return patch


@pytest.mark.parametrize(("placement", "ctx"), MATRIX)
def test_upsert_cannot_overwrite_another_scopes_row(
    isolation_world: IsolationWorld, placement: Placement, ctx: Ctx
) -> None:
    table, alias = placement.table, placement.alias
    upsert_on_id = "ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id"
    constraints = probes.unique_constraints(placement.owner_alias, table.name)
    checked = 0
    with probing(isolation_world, placement, ctx) as values:
        for victim_key, victim in probes.sample_rows(isolation_world, placement).items():
            if writable(table, values, victim, UPDATE):
                continue
            # The victim's id under the prober's own scope: the conflict lands on the victim.
            proposal = probes.with_patch(victim, _own_scope(values, placement))
            outcome = probes.insert(alias, table.name, proposal, conflict=upsert_on_id)
            assert probes.refused(outcome, table, UPDATE), f"upsert on {victim_key}'s id: {outcome}"
            # The victim's natural key (scope column included) with a fresh id.
            for name in constraints:
                fresh = probes.with_patch(victim, {"id": uuid.uuid4()})
                conflict = f"ON CONFLICT ON CONSTRAINT {name} DO UPDATE SET id = {table.name}.id"
                outcome = probes.insert(alias, table.name, fresh, conflict=conflict)
                refused = probes.refused(outcome, table, UPDATE)
                assert refused, f"upsert on {victim_key}'s {name}: {outcome}"
            checked += 1
    assert checked, "every context is denied some other scope's row"
