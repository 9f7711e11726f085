"""Reads for connectors, agents and tools."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from build.models import Connector
from build.services import Kind
from customers.models import Customer, CustomerStatus


def build_item_list(*, kind: Kind, search: str = "") -> QuerySet[Any]:
    items = kind.items()
    search = search.strip()
    if search:
        items = items.filter(
            Q(name__icontains=search) | Q(slug__icontains=search) | Q(description__icontains=search)
        )
    return items.order_by("name", "id")


def build_item_versions(*, kind: Kind, item: Any) -> QuerySet[Any]:
    return kind.versions_of(item).select_related("created_by").order_by("-number")


def build_item_snapshot(*, kind: Kind, item: Any, number: int | None) -> dict[str, Any]:
    """The item as saved in version ``number``; fields a version lacks come from the item."""
    current = {field: getattr(item, field) for field in kind.fields}
    if number is None:
        return current
    version = build_item_versions(kind=kind, item=item).filter(number=number).first()
    if version is None:
        return current
    return {**current, **{k: v for k, v in version.snapshot.items() if k in kind.fields}}


def connectors_deployed_to_prod() -> QuerySet[Connector]:
    return Connector.objects.filter(prod_version__isnull=False).order_by("name", "id")


def runnable_customers() -> QuerySet[Customer]:
    """Customers a test panel may run for (active ones)."""
    return Customer.objects.filter(status=CustomerStatus.ACTIVE).order_by("name", "id")
