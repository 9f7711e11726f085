"""Reads of the data plane: a customer's own (inside the customer's scope), and organization-wide
ones across the region databases (SPEC §6).

An organization-wide read queries each region restricted to the customers that the control
plane places in that region, then merges; each region's query is a transaction of its own unless
the request has already begun one there (``tenancy.context.standalone_reads``). During a
relocation the rows already copied to the new region belong to a customer still placed in the
old one, so they are never counted twice; and regions that share a database are still read once
per customer.
"""

from __future__ import annotations

import heapq
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Model, Q, QuerySet

from build.models import Connector, WorkflowDefinition, WorkflowDefinitionVersion
from customers.models import Customer
from dataplane.encryption import decrypt_credentials, mask
from dataplane.models import Connection, ExecutionLog, Workflow
from fastn_console.lookups import AnyOf
from tenancy.context import region_alias, standalone_reads


def connectable_connectors(*, search: str = "") -> QuerySet[Connector]:
    connectors = Connector.objects.all()
    search = search.strip()
    if search:
        connectors = connectors.filter(Q(name__icontains=search) | Q(slug__icontains=search))
    return connectors.order_by("name", "id")


def workflow_definition_version(workflow: Workflow, number: int | None) -> dict[str, Any] | None:
    """The definition (steps, triggers) version ``number`` of ``workflow``'s organization-level
    definition saved; ``None`` when there is no such version."""
    if number is None:
        return None
    version = WorkflowDefinitionVersion.objects.filter(
        workflow_id=workflow.definition_id, number=number
    ).first()
    if version is None:
        return None
    definition = version.snapshot.get("definition")
    return definition if isinstance(definition, dict) else None


def workflows_with_definitions(workflows: Iterable[Workflow]) -> list[Workflow]:
    """``workflows`` with their definitions read in one query (names, versions, deployments),
    in the order given."""
    rows = list(workflows)
    definitions = WorkflowDefinition.objects.in_bulk({row.definition_id for row in rows})
    for row in rows:
        if row.definition_id in definitions:
            row.definition = definitions[row.definition_id]
    return rows


def executions_with_workflows(executions: Iterable[ExecutionLog]) -> list[ExecutionLog]:
    """``executions`` (their workflows selected with them) with the workflows' definitions
    read in one query, for a list that shows each one's workflow name."""
    rows = list(executions)
    workflows_with_definitions(row.workflow for row in rows if row.workflow is not None)
    return rows


def addable_definitions(*, added: Iterable[uuid.UUID]) -> QuerySet[WorkflowDefinition]:
    """The organization's workflow definitions the customer in scope has not added."""
    return WorkflowDefinition.objects.exclude(id__in=list(added)).order_by("name", "id")


def masked_credentials(*, connection: Connection) -> list[tuple[str, str]]:
    """``(field, masked value)`` pairs: never the whole secret."""
    values = decrypt_credentials(connection.credentials)
    return [(name, mask(value)) for name, value in sorted(values.items())]


# Organization-wide, across regions --------------------------------------------------------


def customers_by_region(
    *, customers: Iterable[Customer] | None = None
) -> dict[str, list[uuid.UUID]]:
    """Region -> ids of the ``customers`` (default: every live one) the control plane places
    there."""
    grouped: dict[str, list[uuid.UUID]] = defaultdict(list)
    if customers is None:
        for customer_id, region in Customer.objects.live().values_list("id", "region"):
            grouped[region].append(customer_id)
    else:
        for customer in customers:
            grouped[customer.region].append(customer.id)
    return grouped


def _rows_by_region[M: Model](
    model: type[M], placement: Mapping[str, list[uuid.UUID]]
) -> Iterator[QuerySet[M]]:
    for region, ids in placement.items():
        yield model.objects.using(region_alias(region)).filter(  # type: ignore[attr-defined]
            AnyOf(F("customer_id"), ids)
        )


def each_region[M: Model, T](
    read: Callable[[QuerySet[M]], T],
    model: type[M],
    *,
    customers: Iterable[Customer] | None = None,
    placement: Mapping[str, list[uuid.UUID]] | None = None,
) -> list[T]:
    """``read`` of ``model``'s rows of the customers placed in each region, one result a region.

    ``read`` evaluates what it asks (a count, a list): each region's query is then a standalone
    read, one round trip with no BEGIN or COMMIT, unless a transaction has begun there.
    ``placement`` is a ``customers_by_region`` result that a page asking several questions of
    every region reads once."""
    if placement is None:
        placement = customers_by_region(customers=customers)
    with standalone_reads():
        return [read(rows) for rows in _rows_by_region(model, placement)]


def organization_count(
    model: type[Model], *, customers: Iterable[Customer] | None = None, **filters: Any
) -> int:
    """How many of ``model``'s rows match ``filters`` across the organization's regions."""
    return sum(each_region(lambda rows: rows.filter(**filters).count(), model, customers=customers))


def counts_per_customer(model: type[Model], customers: Iterable[Customer]) -> dict[uuid.UUID, int]:
    """``model``'s rows per customer, one query per region involved."""
    counts: dict[uuid.UUID, int] = {}
    for grouped in each_region(
        lambda rows: list(rows.values("customer_id").annotate(n=Count("id"))),
        model,
        customers=customers,
    ):
        counts.update({row["customer_id"]: row["n"] for row in grouped})
    return counts


MAX_PER_PAGE = 100
# The newest rows a merged listing can page through: each region contributes up to
# ``page * per_page`` rows to a page, so deeper pages are refused (filter to see older ones).
MAX_MERGED_ROWS = 10_000


@dataclass
class MergedPage:
    items: list[ExecutionLog]
    number: int
    per_page: int
    total: int

    @property
    def num_pages(self) -> int:
        """Pages that can be shown: the newest ``MAX_MERGED_ROWS`` rows at most."""
        reachable = min(self.total, MAX_MERGED_ROWS // self.per_page * self.per_page)
        return max(1, -(-reachable // self.per_page))

    @property
    def truncated(self) -> bool:
        """Whether older rows exist beyond the last page."""
        return self.total > self.num_pages * self.per_page

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
    customers: Iterable[Customer] | None = None,
    filters: dict[str, Any] | None = None,
) -> MergedPage:
    """Newest-first executions of every customer, merged across regions with exact paging:
    each region contributes at most ``page * per_page`` rows, the merge keeps the global order.

    Bounded whatever the caller asks: ``per_page`` is 1 to ``MAX_PER_PAGE``, and ``page`` is
    at least 1 and at most the last page (``MergedPage.num_pages``, within the newest
    ``MAX_MERGED_ROWS`` rows). ``filters`` are more ``filter()`` lookups (the executions page's,
    ``dataplane.execution_filters``)."""
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    placement = customers_by_region(customers=customers)

    def matching(rows: QuerySet[ExecutionLog]) -> QuerySet[ExecutionLog]:
        if status:
            rows = rows.filter(status=status)
        return rows.filter(**filters) if filters else rows

    total = sum(each_region(lambda rows: matching(rows).count(), ExecutionLog, placement=placement))
    number = min(max(1, page), MergedPage([], 1, per_page, total).num_pages)
    needed = number * per_page
    streams = each_region(
        lambda rows: list(
            matching(rows).select_related("workflow").order_by("-created_at", "-id")[:needed]
        ),
        ExecutionLog,
        placement=placement,
    )

    def key(log: ExecutionLog) -> tuple[datetime, str]:
        return (log.created_at, str(log.id))

    merged = heapq.merge(*streams, key=key, reverse=True)
    items = list(merged)[(number - 1) * per_page : needed]
    return MergedPage(items=items, number=number, per_page=per_page, total=total)
