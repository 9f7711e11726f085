"""Request and response bodies of the JSON API (they make its OpenAPI schema)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from ninja import Field, Schema
from pydantic import AfterValidator

from customers.models import Region

T = TypeVar("T")


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here as a 422 rather than fail in the database.
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed.")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]

RegionCode = Literal["us", "eu", "apac"]
assert set(RegionCode.__args__) == set(Region.values)  # type: ignore[attr-defined]


class ErrorDetail(Schema):
    code: str = Field(description="Stable machine-readable error code.")
    message: str
    limit: dict[str, Any] | None = Field(
        None, description="On 429 and limit errors: the limit's name, value and retry_after."
    )
    details: list[Any] | dict[str, Any] | None = None


class ErrorOut(Schema):
    error: ErrorDetail


MAX_OFFSET = 1_000_000


class Paging(Schema):
    """A list operation's window: ``limit`` items (1 to 100) from ``offset`` on."""

    limit: int = Field(50, ge=1, le=100)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class Page(Schema, Generic[T]):
    items: list[T]
    count: int
    limit: int
    offset: int


class KeyInfoOut(Schema):
    name: str
    prefix: str
    preset: str
    organization_id: uuid.UUID
    customer_id: uuid.UUID | None = Field(description="The customer named by x-end-org-id.")
    all_customers: bool


LABELS_DESCRIPTION = (
    "Labels as key: value strings (1-63 letters, digits, '-', '_', '.'; keys may hold '/'), "
    "at most 20. Replaces the customer's labels when given."
)
METADATA_DESCRIPTION = "A JSON object of at most 16 KB. Replaces the metadata when given."


class CustomerOut(Schema):
    id: uuid.UUID
    name: str
    slug: str
    external_id: str | None
    status: str
    region: str
    labels: dict[str, str]
    metadata: dict[str, Any]
    created_at: datetime


class CustomerIn(Schema):
    name: Text = Field(min_length=1, max_length=120)
    external_id: Text | None = Field(None, max_length=120)
    region: RegionCode | None = None
    status: Literal["active", "pending_activation"] | None = Field(
        None, description="Create the customer active (default) or pending activation."
    )
    labels: dict[Text, Text] | None = Field(None, description=LABELS_DESCRIPTION)
    metadata: dict[str, Any] | None = Field(None, description=METADATA_DESCRIPTION)


class CustomerPut(Schema):
    name: Text = Field(min_length=1, max_length=120)
    region: RegionCode | None = Field(
        None, description="For a new customer; an existing one keeps its region (relocation)."
    )
    status: Literal["active", "pending_activation", "suspended"] | None = Field(
        None,
        description="A new customer is active (default) or pending_activation; an existing "
        "one may be activated or suspended.",
    )
    labels: dict[Text, Text] | None = Field(None, description=LABELS_DESCRIPTION)
    metadata: dict[str, Any] | None = Field(None, description=METADATA_DESCRIPTION)


class CustomerPatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=120)
    external_id: Text | None = Field(None, max_length=120)
    status: Literal["active", "suspended"] | None = Field(
        None, description="Activate or suspend the customer."
    )
    labels: dict[Text, Text] | None = Field(None, description=LABELS_DESCRIPTION)
    metadata: dict[str, Any] | None = Field(None, description=METADATA_DESCRIPTION)


class ConnectionOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    connector_id: uuid.UUID
    name: str
    status: str
    created_at: datetime


class ConnectionIn(Schema):
    connector_id: uuid.UUID
    name: Text = Field("", max_length=120, description="Defaults to the connector's name.")
    credentials: dict[str, str] = Field(
        default_factory=dict, description="The connector's credential fields; stored encrypted."
    )


class WorkflowDefinitionOut(Schema):
    """One of the organization's workflows: its latest definition and what is deployed."""

    id: uuid.UUID
    name: str
    slug: str
    description: str
    current_version: int
    test_version: int | None
    prod_version: int | None
    definition: dict[str, Any]
    updated_at: datetime


class WorkflowIn(Schema):
    definition_id: uuid.UUID
    connections: dict[str, str] = {}


class WorkflowOut(Schema):
    """A customer's workflow: one of the organization's definitions (``definition_id``) that
    the customer has; name, description and versions are the definition's."""

    id: uuid.UUID
    customer_id: uuid.UUID
    definition_id: uuid.UUID
    name: str
    description: str
    enabled: bool
    current_version: int
    test_version: int | None
    prod_version: int | None
    created_at: datetime


class ExecutionOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    workflow_id: uuid.UUID | None
    connection_id: uuid.UUID | None
    source: str
    version: int | None = Field(description="The workflow version run; null: not recorded.")
    environment: str = Field(description="test or prod: where the version was resolved.")
    trigger: str = Field(description="manual (console, API) or event.")
    replay_of_id: uuid.UUID | None = Field(description="The failed execution this one replays.")
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    created_at: datetime


class EventIn(Schema):
    name: Text = Field(min_length=1, max_length=120)
    payload: dict[str, Any] = Field(default_factory=dict)


class EventBatchIn(Schema):
    events: list[EventIn] = Field(min_length=1, max_length=100)


class EventAcceptedOut(Schema):
    id: uuid.UUID = Field(description="The stored event: GET /events/{id} reads it back.")
    accepted: int = Field(description="Always 1.")


class EventsAcceptedOut(Schema):
    accepted: int
    ids: list[uuid.UUID] = Field(description="The stored events, in the order sent.")


class EventOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    payload: dict[str, Any]
    received_at: datetime = Field(alias="created_at")
    executions: list[ExecutionOut] = Field(
        description="The executions this event triggered (event triggers), oldest first."
    )


class LimitUsageOut(Schema):
    limit: int
    used: int
    remaining: int
    resets_at: datetime


class DailyUsageOut(Schema):
    day: date
    api_calls: int
    events: int


class UsageOut(Schema):
    customer_id: uuid.UUID | None = Field(
        description="The customer, or null for the organization-wide bucket."
    )
    windows: dict[str, LimitUsageOut]
    daily: list[DailyUsageOut]


class EmbedTokenOut(Schema):
    token: str
    expires_at: datetime
    widget_url: str
