"""Which version is live in test and in prod: one rule for build items and workflows.

Deploying moves an item's ``test_version`` or ``prod_version`` to another saved version; moving
prod to a lower number than the live one is a rollback (audited as such).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

TEST = "test"
PROD = "prod"
ENVIRONMENTS = (TEST, PROD)


def is_rollback(environment: str, previous: int | None, number: int) -> bool:
    return environment == PROD and previous is not None and number < previous


@dataclass(frozen=True)
class LiveVersionMove:
    field: str
    previous: int | None
    rollback: bool


def live_version_move(
    items: QuerySet[Any],
    item: Any,
    *,
    environment: str,
    number: int,
    also_save: tuple[str, ...] = (),
) -> LiveVersionMove | None:
    """Lock ``item`` (a row of ``items``) and make ``number`` its live version in
    ``environment``; ``None`` when it already is."""
    field = f"{environment}_version"
    locked = items.select_for_update().get(id=item.id)
    previous = getattr(locked, field)
    if previous == number:
        return None
    setattr(locked, field, number)
    locked.save(update_fields=[field, *also_save])
    return LiveVersionMove(field, previous, is_rollback(environment, previous, number))
