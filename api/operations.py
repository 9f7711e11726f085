"""The operations of the JSON API at ``/api/v1/``, on one router (``api.endpoints`` mounts it).

Every operation runs through ``api.auth.api_scope`` (key, states, customer, rate limit, tenant
context) and checks its catalog permission with ``authorize`` on the key's preset.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.responses import codes_4xx

from api import ratelimit, selectors, services
from api.auth import (
    END_ORG_HEADER,
    ApiError,
    ApiRequest,
    api_request_of,
    api_scope,
    charge,
    charges_events,
)
from api.schemas import (
    ConnectionIn,
    ConnectionOut,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    EmbedTokenOut,
    ErrorOut,
    EventBatchIn,
    EventIn,
    EventsAcceptedOut,
    ExecutionOut,
    KeyInfoOut,
    Page,
    Text,
    UsageOut,
    WorkflowOut,
)
from build.models import Connector
from customers import selectors as customer_selectors
from customers import services as customer_services
from customers.models import Customer, CustomerStatus
from dataplane import services as dataplane
from dataplane.models import Connection, ExecutionLog, Workflow
from roles.selectors import authorize
from widget import services as widget_services

ERRORS: dict[Any, Any] = {codes_4xx: ErrorOut}
MAX_OFFSET = 1_000_000

router = Router()
router.add_decorator(api_scope, mode="view")


# --- Helpers ----------------------------------------------------------------------------------


def _api(request: HttpRequest) -> ApiRequest:
    api = api_request_of(request)
    if api is None:  # api_scope runs before every operation; this is a wiring bug
        raise ApiError(401, "invalid_api_key", "The API key is not valid.")
    return api


_REQUEST_CUSTOMER: Any = object()


def _authorize(
    request: HttpRequest, key: str, customer: Customer | None = _REQUEST_CUSTOMER
) -> ApiRequest:
    """``authorize`` for the key's preset; by default for the customer named by the request,
    ``customer=None`` for organization-level actions."""
    api = _api(request)
    target = api.customer if customer is _REQUEST_CUSTOMER else customer
    authorize(api.principal, key, api.organization, target)
    return api


def _require_customer(api: ApiRequest) -> Customer:
    if api.customer is None:
        raise ApiError(
            400, "end_org_id_required", f"Name the customer with the {END_ORG_HEADER} header."
        )
    return api.customer


def _customer_data(request: HttpRequest, key: str) -> tuple[ApiRequest, Customer]:
    """For an operation on one customer's data: the customer the request names (400 without
    one), once the key's preset holds ``key`` for it."""
    customer = _require_customer(_api(request))
    return _authorize(request, key), customer


def _page(queryset: QuerySet[Any], limit: int, offset: int) -> dict[str, Any]:
    return {
        "items": list(queryset[offset : offset + limit]),
        "count": queryset.count(),
        "limit": limit,
        "offset": offset,
    }


def _get_customer_for_request(request: HttpRequest, customer_id: uuid.UUID) -> Customer:
    """The customer if the key may see it: scope and RLS hide every other one (404)."""
    customer = Customer.objects.live().filter(id=customer_id).first()
    api = _api(request)
    allowed = api.principal.customer_ids
    if customer is None or (allowed is not None and customer.id not in allowed):
        raise ApiError(404, "customer_not_found", "No such customer for this API key.")
    return customer


def _get_connection_for_request(request: HttpRequest, connection_id: uuid.UUID) -> Connection:
    return _found(Connection.objects.filter(id=connection_id).first(), "connection")


def _get_workflow_for_request(request: HttpRequest, workflow_id: uuid.UUID) -> Workflow:
    return _found(Workflow.objects.filter(id=workflow_id).first(), "workflow")


def _found[T](row: T | None, noun: str) -> T:
    """``row``, or the API's 404: the customer's scope hides every other customer's rows."""
    if row is None:
        raise ApiError(404, "not_found", f"No such {noun} for this customer.")
    return row


# --- Operations -------------------------------------------------------------------------------


@router.get("/key", response={200: KeyInfoOut, **ERRORS}, tags=["key"])
def key_info(request: HttpRequest) -> dict[str, Any]:
    """The key making the call, its preset and the customer it acts for."""
    api = _api(request)
    key = api.principal.key
    return {
        "name": key.name,
        "prefix": key.prefix,
        "preset": key.role.name,
        "organization_id": api.org_id,
        "customer_id": api.customer.id if api.customer else None,
        "all_customers": key.all_customers,
    }


@router.get("/customers", response={200: Page[CustomerOut], **ERRORS}, tags=["customers"])
def customers_list(
    request: HttpRequest,
    q: Text = "",
    status: CustomerStatus | None = None,
    external_id: Text | None = None,
    limit: int = Query(50, ge=1, le=100),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    """Customers of the organization (only the named one with ``x-end-org-id``)."""
    _authorize(request, "customers.read")
    customers = customer_selectors.customer_list(search=q, status=status or "")
    if external_id is not None:
        customers = customers.filter(external_id=external_id)
    return _page(customers, limit, offset)


@router.post("/customers", response={201: CustomerOut, **ERRORS}, tags=["customers"])
def customers_create(request: HttpRequest, payload: CustomerIn) -> Status:
    api = _authorize(request, "customers.create", None)
    customer = customer_services.customer_create(
        acting_user=api.principal,
        organization=api.organization,
        name=payload.name,
        external_id=payload.external_id,
        region=payload.region,
    )
    return Status(201, customer)


@router.get("/customers/{customer_id}", response={200: CustomerOut, **ERRORS}, tags=["customers"])
def customers_get(request: HttpRequest, customer_id: uuid.UUID) -> Customer:
    customer = _get_customer_for_request(request, customer_id)
    _authorize(request, "customers.read", customer)
    return customer


@router.patch("/customers/{customer_id}", response={200: CustomerOut, **ERRORS}, tags=["customers"])
def customers_update(
    request: HttpRequest, customer_id: uuid.UUID, payload: CustomerPatch
) -> Customer:
    """Rename, change the external ID, or activate / suspend (``status``)."""
    customer = _get_customer_for_request(request, customer_id)
    api = _authorize(request, "customers.update", customer)
    if customer.status == CustomerStatus.RELOCATING:
        raise ApiError(409, "customer_relocating", "The customer is moving to another region.")
    fields = payload.model_fields_set
    if fields & {"name", "external_id"}:
        customer = customer_services.customer_update(
            acting_user=api.principal,
            customer=customer,
            name=payload.name if payload.name is not None else customer.name,
            external_id=payload.external_id if "external_id" in fields else customer.external_id,
        )
    if payload.status is not None:
        customer = customer_services.customer_status_change(
            acting_user=api.principal, customer=customer, status=payload.status
        )
    return customer


@router.get("/connections", response={200: Page[ConnectionOut], **ERRORS}, tags=["connections"])
def connections_list(
    request: HttpRequest,
    limit: int = Query(50, ge=1, le=100),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    _customer_data(request, "connections.read")
    return _page(Connection.objects.order_by("name", "id"), limit, offset)


@router.post("/connections", response={201: ConnectionOut, **ERRORS}, tags=["connections"])
def connections_create(request: HttpRequest, payload: ConnectionIn) -> Status:
    """Connect the customer to one of the organization's connectors (credentials are stored
    encrypted and never returned)."""
    api, customer = _customer_data(request, "connections.create")
    connector = Connector.objects.filter(id=payload.connector_id).first()
    if connector is None:
        raise ApiError(404, "not_found", "No such connector in this organization.")
    connection = dataplane.connection_connect(
        acting_user=api.principal,
        organization=api.organization,
        customer=customer,
        connector=connector,
        credentials=payload.credentials,
        name=payload.name,
    )
    return Status(201, connection)


@router.delete("/connections/{connection_id}", response={204: None, **ERRORS}, tags=["connections"])
def connections_delete(request: HttpRequest, connection_id: uuid.UUID) -> Status:
    """Delete the connection and its stored credentials."""
    api, customer = _customer_data(request, "connections.delete")
    connection = _get_connection_for_request(request, connection_id)
    dataplane.connection_remove(
        acting_user=api.principal,
        organization=api.organization,
        customer=customer,
        connection=connection,
    )
    return Status(204, None)


@router.get("/workflows", response={200: Page[WorkflowOut], **ERRORS}, tags=["workflows"])
def workflows_list(
    request: HttpRequest,
    limit: int = Query(50, ge=1, le=100),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    _customer_data(request, "workflows.read")
    return _page(Workflow.objects.order_by("name", "id"), limit, offset)


@router.post(
    "/workflows/{workflow_id}/run", response={202: ExecutionOut, **ERRORS}, tags=["workflows"]
)
def workflows_run(request: HttpRequest, workflow_id: uuid.UUID) -> Status:
    """Queue a run; follow it in ``GET /executions``."""
    api, customer = _customer_data(request, "workflows.execute")
    workflow = _get_workflow_for_request(request, workflow_id)
    execution = dataplane.workflow_run(
        acting_user=api.principal,
        organization=api.organization,
        customer=customer,
        workflow=workflow,
    )
    return Status(202, execution)


@router.get("/executions", response={200: Page[ExecutionOut], **ERRORS}, tags=["executions"])
def executions_list(
    request: HttpRequest,
    workflow_id: uuid.UUID | None = None,
    status: Text | None = None,
    limit: int = Query(50, ge=1, le=100),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    """The customer's execution log, newest first."""
    _customer_data(request, "executions.read")
    executions = ExecutionLog.objects.order_by("-created_at", "id")
    if workflow_id is not None:
        executions = executions.filter(workflow_id=workflow_id)
    if status:
        executions = executions.filter(status=status)
    return _page(executions, limit, offset)


def _ingest(request: HttpRequest, names: list[str]) -> Status:
    api, customer = _customer_data(request, "workflows.execute")
    charge(api, events=len(names))
    accepted = services.events_record(customer=customer, names=names)
    return Status(202, {"accepted": accepted})


@router.post("/events", response={202: EventsAcceptedOut, **ERRORS}, tags=["events"])
@charges_events
def events_ingest(request: HttpRequest, payload: EventIn) -> Status:
    """Ingest one event. Counts one API call and one event."""
    return _ingest(request, [payload.name])


@router.post("/events/batch", response={202: EventsAcceptedOut, **ERRORS}, tags=["events"])
@charges_events
def events_ingest_batch(request: HttpRequest, payload: EventBatchIn) -> Status:
    """Ingest up to 100 events: accepted whole or refused whole (one API call, N events)."""
    return _ingest(request, [event.name for event in payload.events])


@router.get("/usage", response={200: UsageOut, **ERRORS}, tags=["usage"])
def usage(request: HttpRequest, days: int = Query(30, ge=1, le=90)) -> dict[str, Any]:
    """The rate-limit windows in force now and a daily series, for the named customer or the
    organization-wide bucket."""
    api = _authorize(request, "billing.read")
    counts = selectors.current_window_usage(organization=api.organization, customer=api.customer)
    now = datetime.now(UTC).timestamp()
    windows = {}
    for limit_key in ratelimit.LIMIT_WINDOWS:
        used = counts.get(limit_key, 0)
        window = ratelimit.window(limit_key, now)
        windows[limit_key] = {
            "limit": api.limits[limit_key],
            "used": used,
            "remaining": max(0, api.limits[limit_key] - used),
            "resets_at": datetime.fromtimestamp(window.end, UTC),
        }
    daily = selectors.usage_daily(
        organization=api.organization,
        days=days,
        customer_id=api.customer.id if api.customer else None,
    )
    return {
        "customer_id": api.customer.id if api.customer else None,
        "windows": windows,
        "daily": [vars(day) for day in daily],
    }


@router.post("/embed/token", response={201: EmbedTokenOut, **ERRORS}, tags=["embed"])
def embed_token(request: HttpRequest) -> Status:
    """A signed token that opens the named customer's widget with End User permissions."""
    api, customer = _customer_data(request, "connections.share")
    token = widget_services.embed_token_issue(
        acting_user=api.principal, organization=api.organization, customer=customer
    )
    lifetime = timedelta(seconds=settings.EMBED_TOKEN_MAX_AGE_SECONDS)
    path = widget_services.connect_link_path(
        organization=api.organization, customer=customer, token=token
    )
    return Status(
        201,
        {
            "token": token,
            "expires_at": datetime.now(UTC) + lifetime,
            "widget_url": request.build_absolute_uri(path),
        },
    )
