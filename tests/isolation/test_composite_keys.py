"""A row cannot point at another customer's (data plane) or organization's (control plane) parent.

Row-level security lets the statement through (the prober writes its own row, in its own
scope); the composite ``(scope, parent_id)`` foreign key refuses it. The keys are NOT
DEFERRABLE, so they fire inside the (rolled-back) transaction, at the statement.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.conf import settings

from tests.isolation import probes
from tests.isolation.spec import COMPOSITE_KEYS, SCOPED_TABLES, CompositeKey, Placement
from tests.isolation.world import CONTEXTS, IsolationWorld, probing

ORG_WIDE = next(c for c in CONTEXTS if c.name == "acme-wide")
CUSTOMER_A = next(c for c in CONTEXTS if c.name == "A-as-organization")

CASES = [
    pytest.param(key, region, id=f"{key.id}@{region}" if region else key.id)
    for key in COMPOSITE_KEYS
    for region in (settings.TENANCY_REGIONS if key.plane == "data" else (None,))
]


def _scope_value(isolation_world: IsolationWorld, key: CompositeKey, region: str) -> str:
    party = isolation_world.party("A", region)
    return str(party.customer_id if key.scope_column == "customer_id" else party.org_id)


def _fresh_unique_values(isolation_world: IsolationWorld, row: dict[str, Any]) -> dict[str, Any]:
    """Values that keep a copied row clear of the child's own unique constraints."""
    fresh = {
        "number": 999,
        "limit_key": f"fresh-{uuid.uuid4().hex}",
        "secret_hash": uuid.uuid4().hex,
        "user_id": isolation_world.outsider_user_id,
    }
    return {column: value for column, value in fresh.items() if column in row}


@pytest.mark.parametrize(("key", "region"), CASES)
def test_child_cannot_reference_another_scopes_parent(
    isolation_world: IsolationWorld, key: CompositeKey, region: str | None
) -> None:
    child = Placement(SCOPED_TABLES[key.child], region)
    parent = Placement(SCOPED_TABLES[key.parent], region)
    own_scope = _scope_value(isolation_world, key, child.party_region)
    template = next(
        r for r in probes.rows_as_owner(isolation_world, child) if r[key.scope_column] == own_scope
    )
    parents = probes.rows_as_owner(isolation_world, parent)
    own_parents = [p["id"] for p in parents if p[key.scope_column] == own_scope]
    victims = [p["id"] for p in parents if p[key.scope_column] != own_scope]
    assert own_parents and victims
    ctx = CUSTOMER_A if key.plane == "data" else ORG_WIDE
    with probing(isolation_world, child, ctx):
        patch = {key.column: template[key.column] or own_parents[0]}
        assert probes.move(child.alias, key.child, template["id"], patch) == probes.Outcome(None, 1)
        for victim in victims:
            moved = probes.move(child.alias, key.child, template["id"], {key.column: victim})
            assert moved.refused == probes.FOREIGN_KEY, f"update to {victim}: {moved}"
            copy = probes.with_patch(
                template,
                {
                    "id": uuid.uuid4(),
                    key.column: victim,
                    **_fresh_unique_values(isolation_world, template),
                },
            )
            inserted = probes.insert(child.alias, key.child, copy)
            assert inserted.refused == probes.FOREIGN_KEY, (
                f"insert pointing at {victim}: {inserted}"
            )
