"""Organization-wide reads across the region databases (SPEC §6).

Each region is queried under the same context, restricted to the customers that live in that
region according to the control plane — so rows copied ahead of a relocation's switch are never
counted twice — and the results are merged.
"""

from __future__ import annotations

import heapq
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from customers.models import Customer
from dataplane.models import ExecutionLog
from residency.models import Relocation
from tenancy.context import region_alias


def customers_by_region(
    *, customer_ids: list[uuid.UUID] | None = None
) -> dict[str, list[uuid.UUID]]:
    customers = Customer.objects.live()
    if customer_ids is not None:
        customers = customers.filter(id__in=customer_ids)
    grouped: dict[str, list[uuid.UUID]] = defaultdict(list)
    for customer_id, region in customers.values_list("id", "region"):
        grouped[region].append(customer_id)
    return grouped


@dataclass
class MergedPage:
    items: list[ExecutionLog]
    number: int
    per_page: int
    total: int

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def organization_executions(
    *,
    page: int = 1,
    per_page: int = 50,
    status: str = "",
    customer_ids: list[uuid.UUID] | None = None,
) -> MergedPage:
    """Newest-first executions of every customer, merged across regions with exact paging:
    each region contributes at most ``page * per_page`` rows, the merge keeps the global order."""
    page = max(1, page)
    needed = page * per_page
    streams: list[list[ExecutionLog]] = []
    total = 0
    for region, ids in customers_by_region(customer_ids=customer_ids).items():
        queryset = ExecutionLog.objects.using(region_alias(region)).filter(customer_id__in=ids)
        if status:
            queryset = queryset.filter(status=status)
        total += queryset.count()
        streams.append(list(queryset.order_by("-created_at", "-id")[:needed]))

    def key(log: ExecutionLog) -> tuple[datetime, str]:
        return (log.created_at, str(log.id))

    merged = heapq.merge(*streams, key=key, reverse=True)
    items = list(merged)[(page - 1) * per_page : needed]
    return MergedPage(items=items, number=page, per_page=per_page, total=total)


def latest_relocation(*, customer: Customer) -> Relocation | None:
    return Relocation.objects.filter(customer_id=customer.id).order_by("-created_at").first()


def relocation_status(relocation: Relocation | None) -> dict[str, Any]:
    if relocation is None:
        return {"state": None}
    return {
        "state": relocation.state,
        "state_label": relocation.get_state_display(),
        "from_region": relocation.from_region,
        "to_region": relocation.to_region,
        "rows_copied": relocation.rows_copied,
        "rows_total": relocation.rows_total,
        "progress": relocation.progress_percent,
        "error": relocation.error,
    }
