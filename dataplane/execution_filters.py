"""The filters of the executions lists (SPEC §11): by workflow, status, environment and time.

One reading of a query string serves the customer's Executions tab, the organization-wide
Executions page and ``GET /api/v1/executions``. A value the list does not know is dropped (and
named in ``ignored``, so the page can say so) rather than answered with an error: a filter link
that went stale still shows a list. ``query`` writes the filters back for pagination links.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.utils import timezone

from build.models import WorkflowDefinition
from dataplane.models import ExecutionLog, ExecutionStatus, RunEnvironment, Workflow
from dataplane.selectors import workflows_with_definitions

ANY_TIME = "all"
PERIODS: dict[str, tuple[str, timedelta | None]] = {
    "15m": ("Last 15 minutes", timedelta(minutes=15)),
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    ANY_TIME: ("Any time", None),
}


def period_start(period: str, *, now: datetime | None = None) -> datetime | None:
    """When ``period`` (a key of ``PERIODS``) began; ``None`` for any time or an unknown key."""
    _, span = PERIODS.get(period, PERIODS[ANY_TIME])
    return None if span is None else (now or timezone.now()) - span


@dataclass(frozen=True)
class ExecutionFilters:
    workflow: str = ""
    status: str = ""
    environment: str = ""
    period: str = ANY_TIME
    ignored: tuple[str, ...] = ()

    @classmethod
    def from_query(
        cls, query: Mapping[str, str], *, default_period: str = ANY_TIME
    ) -> ExecutionFilters:
        ignored = []
        workflow = query.get("workflow", "").strip()
        if workflow:
            try:
                workflow = str(uuid.UUID(workflow))
            except ValueError:
                ignored.append("workflow")
                workflow = ""
        known = {
            "status": ExecutionStatus.values,
            "environment": RunEnvironment.values,
            "period": list(PERIODS),
        }
        values = {}
        for name, choices in known.items():
            value = query.get(name, "")
            if value and value not in choices:
                ignored.append(name)
                value = ""
            values[name] = value
        return cls(
            workflow=workflow,
            status=values["status"],
            environment=values["environment"],
            period=values["period"] or default_period,
            ignored=tuple(ignored),
        )

    def lookups(self, *, by_definition: bool = False) -> dict[str, Any]:
        """The ``filter()`` keyword arguments of these filters on ``ExecutionLog``. The
        ``workflow`` filter is a customer's workflow, or with ``by_definition`` (the
        organization-wide page) one of the organization's workflow definitions."""
        found: dict[str, Any] = {}
        if self.workflow:
            column = "workflow__definition_id" if by_definition else "workflow_id"
            found[column] = uuid.UUID(self.workflow)
        if self.status:
            found["status"] = self.status
        if self.environment:
            found["environment"] = self.environment
        if (start := period_start(self.period)) is not None:
            found["created_at__gte"] = start
        return found

    def apply(self, rows: QuerySet[ExecutionLog]) -> QuerySet[ExecutionLog]:
        return rows.filter(**self.lookups())

    @property
    def narrowed(self) -> bool:
        """Whether any filter leaves executions out."""
        return bool(self.workflow or self.status or self.environment or self.period != ANY_TIME)

    def query(self) -> str:
        """The filters as a query string (``a=1&b=2``), for links to other pages of the list."""
        pairs = {
            "workflow": self.workflow,
            "status": self.status,
            "environment": self.environment,
            "period": self.period,
        }
        return urlencode({name: value for name, value in pairs.items() if value})

    def context(self) -> dict[str, Any]:
        """What a list page's filter form needs (``dataplane/_execution_filters.html``)."""
        return {
            "filters": self,
            "statuses": ExecutionStatus.choices,
            "environments": RunEnvironment.choices,
            "periods": [(key, label) for key, (label, _) in PERIODS.items()],
        }


def customer_workflow_choices() -> list[tuple[str, str]]:
    """The workflow filter's choices on a customer's list: its workflows, by name."""
    workflows = workflows_with_definitions(Workflow.objects.all())
    return sorted(((str(w.id), w.name) for w in workflows), key=lambda choice: choice[1])


def organization_workflow_choices() -> list[tuple[str, str]]:
    """The workflow filter's choices on the organization-wide list: its definitions, by name
    (as many as it defines, whatever the number of customers)."""
    return [
        (str(pk), name)
        for pk, name in WorkflowDefinition.objects.order_by("name", "id").values_list("id", "name")
    ]


def customer_executions(filters: ExecutionFilters) -> QuerySet[ExecutionLog]:
    """The customer in scope's executions matching ``filters``, newest first."""
    rows = filters.apply(ExecutionLog.objects.select_related("workflow"))
    return rows.order_by("-created_at", "id")
