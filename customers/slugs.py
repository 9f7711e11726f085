"""Unique slugs from names: one rule for organizations, customers and build items."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.utils.text import slugify

# Room left at the end of the column for a "-<n>" suffix.
SUFFIX_ROOM = 5


def unique_slug(
    candidates: QuerySet[Any], name: str, *, exclude_id: uuid.UUID | None = None
) -> str:
    """``slugify(name)``, cut to fit the model's slug column, with the first free ``-<n>``
    suffix among ``candidates`` (the rows whose slugs it must not repeat; RLS and the scoped
    manager already narrow them to the organization where slugs are unique per organization)."""
    max_length = candidates.model._meta.get_field("slug").max_length or 50
    root = (slugify(name) or "item")[: max_length - SUFFIX_ROOM]
    rows = candidates.filter(slug__startswith=root)
    if exclude_id is not None:
        rows = rows.exclude(id=exclude_id)
    taken = set(rows.values_list("slug", flat=True))
    slug, counter = root, 2
    while slug in taken:
        slug = f"{root}-{counter}"
        counter += 1
    return slug
