"""Reads for customers. Organization-wide reads of the data plane go region by region."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet

from customers.models import Customer, CustomerStatus
from dataplane.models import Connection
from tenancy.context import region_alias


def customer_list(*, search: str = "", status: str = "", region: str = "") -> QuerySet[Customer]:
    customers = Customer.objects.exclude(status=CustomerStatus.DELETING)
    search = search.strip()
    if search:
        condition = Q(name__icontains=search) | Q(external_id__icontains=search)
        try:
            condition |= Q(id=uuid.UUID(search))
        except ValueError:
            condition |= Q(slug__icontains=search)
        customers = customers.filter(condition)
    if status:
        customers = customers.filter(status=status)
    if region:
        customers = customers.filter(region=region)
    return customers.order_by("name", "id")


def connection_counts(customers: Iterable[Customer]) -> dict[uuid.UUID, int]:
    """Connections per customer, one query per region database involved."""
    by_region: dict[str, list[uuid.UUID]] = defaultdict(list)
    for customer in customers:
        by_region[customer.region].append(customer.id)
    counts: dict[uuid.UUID, int] = {}
    for region, ids in by_region.items():
        rows = (
            Connection.objects.using(region_alias(region))
            .filter(customer_id__in=ids)
            .values("customer_id")
            .annotate(n=Count("id"))
        )
        counts.update({row["customer_id"]: row["n"] for row in rows})
    return counts
