"""Reads of a customer's relocations. Organization-wide reads of the data plane (the merged
executions page among them) live in ``dataplane.selectors``."""

from __future__ import annotations

from typing import Any

from customers.models import Customer
from residency.models import Relocation


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
