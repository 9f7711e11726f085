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


class CustomerOut(Schema):
    id: uuid.UUID
    name: str
    slug: str
    external_id: str | None
    status: str
    region: str
    created_at: datetime


class CustomerIn(Schema):
    name: Text = Field(min_length=1, max_length=120)
    external_id: Text | None = Field(None, max_length=120)
    region: RegionCode | None = None


class CustomerPatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=120)
    external_id: Text | None = Field(None, max_length=120)
    status: Literal["active", "suspended"] | None = Field(
        None, description="Activate or suspend the customer."
    )


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


class WorkflowOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    description: str
    enabled: bool
    current_version: int
    prod_version: int | None
    created_at: datetime


class ExecutionOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    workflow_id: uuid.UUID | None
    connection_id: uuid.UUID | None
    source: str
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


class EventsAcceptedOut(Schema):
    accepted: int


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
