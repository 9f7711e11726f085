"""The operations of the JSON API at ``/api/v1/``, on one router (``api.endpoints`` mounts it).

Every operation runs through ``api.auth.api_scope`` (key, states, customer, rate limit, tenant
context) and checks its catalog permission with ``authorize`` on the key's preset.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from ninja import Path, Query, Router, Status
from ninja.responses import codes_4xx

from api import ratelimit, selectors
from api.auth import (
    END_ORG_HEADER,
    ApiError,
    ApiRequest,
    api_request_of,
    api_scope,
)
from api.schemas import (
    ConnectionIn,
    ConnectionOut,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    CustomerPut,
    EmbedTokenOut,
    ErrorOut,
    ExecutionOut,
    KeyInfoOut,
    Page,
    Paging,
    Text,
    UsageOut,
)
from billing.selectors import usage_series
from build.deploys import ENVIRONMENTS, PROD
from build.models import Connector
from customers import selectors as customer_selectors
from customers import services as customer_services
from customers.labels import label_parse
from customers.models import Customer, CustomerStatus
from dataplane import services as dataplane
from dataplane.execution_filters import PERIODS, period_start
from dataplane.models import Connection, ExecutionLog
from roles.selectors import authorize
from widget import services as widget_services

ERRORS: dict[Any, Any] = {codes_4xx: ErrorOut}
LABEL_FILTER = Query(
    [], description="key:value; repeat it to ask for customers holding every label given."
)
EXTERNAL_ID_IN_PATH = Path(..., min_length=1, max_length=120)
ENV_HEADER = "x-fastn-env"
SINCE = Query(None, description="Queued since: 15m, 1h, 24h, 7d, 30d or an ISO 8601 date-time.")

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


def _page(queryset: QuerySet[Any], paging: Paging) -> dict[str, Any]:
    """One page and the total. One row past the page is read: when it is not there and the page
    has rows (or starts at 0), the total is known without a second query."""
    limit, offset = paging.limit, paging.offset
    rows = list(queryset[offset : offset + limit + 1])
    last_page = len(rows) <= limit and (rows or offset == 0)
    return {
        "items": rows[:limit],
        "count": offset + len(rows) if last_page else queryset.count(),
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


def _refuse_relocating(customer: Customer) -> None:
    if customer.status == CustomerStatus.RELOCATING:
        raise ApiError(409, "customer_relocating", "The customer is moving to another region.")


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
    paging: Query[Paging],
    q: Text = "",
    status: CustomerStatus | None = None,
    external_id: Text | None = None,
    label: list[Text] = LABEL_FILTER,
) -> dict[str, Any]:
    """Customers of the organization (only the named one with ``x-end-org-id``)."""
    _authorize(request, "customers.read")
    labels = dict(label_parse(item) for item in label)
    customers = customer_selectors.customer_list(search=q, status=status or "", labels=labels)
    if external_id is not None:
        customers = customers.filter(external_id=external_id)
    return _page(customers, paging)


@router.post("/customers", response={201: CustomerOut, **ERRORS}, tags=["customers"])
def customers_create(request: HttpRequest, payload: CustomerIn) -> Status:
    """Create a customer, active or ``pending_activation`` (no runs, API or widget until it is
    activated)."""
    api = _authorize(request, "customers.create", None)
    customer = customer_services.customer_create(
        acting_user=api.principal,
        organization=api.organization,
        name=payload.name,
        external_id=payload.external_id,
        region=payload.region,
        status=payload.status or CustomerStatus.ACTIVE,
        labels=payload.labels,
        metadata=payload.metadata,
    )
    return Status(201, customer)


@router.put(
    "/customers/by-external-id/{external_id}",
    response={200: CustomerOut, 201: CustomerOut, **ERRORS},
    tags=["customers"],
)
def customers_upsert(
    request: HttpRequest,
    payload: CustomerPut,
    external_id: Text = EXTERNAL_ID_IN_PATH,
) -> Status:
    """Create the customer with this external ID (201) or update it (200). The same request
    twice leaves one customer; labels and metadata, when given, replace the stored ones."""
    existing = customer_selectors.customer_by_external_id(external_id.strip())
    api = _api(request)
    allowed = api.principal.customer_ids
    if existing is not None and allowed is not None and existing.id not in allowed:
        existing = None  # outside the key's customers: as if it did not exist
    if existing is None:
        _authorize(request, "customers.create", None)
    else:
        _authorize(request, "customers.update", existing)
        _refuse_relocating(existing)
    customer, outcome = customer_services.customer_upsert_by_external_id(
        acting_user=api.principal,
        organization=api.organization,
        external_id=external_id,
        existing=existing,
        **payload.model_dump(),  # name, region, status, labels, metadata
    )
    return Status(201 if outcome == customer_services.UPSERT_CREATED else 200, customer)


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
    _refuse_relocating(customer)
    fields = payload.model_fields_set
    if fields & {"name", "external_id", "labels", "metadata"}:
        customer = customer_services.customer_update(
            acting_user=api.principal,
            customer=customer,
            name=payload.name if payload.name is not None else customer.name,
            external_id=payload.external_id if "external_id" in fields else customer.external_id,
            labels=payload.labels,
            metadata=payload.metadata,
        )
    if payload.status is not None:
        customer = customer_services.customer_status_change(
            acting_user=api.principal, customer=customer, status=payload.status
        )
    return customer


@router.delete(
    "/customers/{customer_id}", response={202: CustomerOut, **ERRORS}, tags=["customers"]
)
def customers_delete(request: HttpRequest, customer_id: uuid.UUID) -> Status:
    """Delete the customer and all its data, as the console does: it is hidden at once (state
    ``deleting``) and its data is removed in the background, hence 202. Afterwards the
    customer is a 404."""
    customer = _get_customer_for_request(request, customer_id)
    api = _authorize(request, "customers.delete", customer)
    _refuse_relocating(customer)
    customer_services.customer_delete_request(acting_user=api.principal, customer=customer)
    return Status(202, Customer.objects.get(id=customer.id))


@router.get("/connections", response={200: Page[ConnectionOut], **ERRORS}, tags=["connections"])
def connections_list(
    request: HttpRequest,
    paging: Query[Paging],
) -> dict[str, Any]:
    _customer_data(request, "connections.read")
    return _page(Connection.objects.order_by("name", "id"), paging)


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


def request_environment(request: HttpRequest) -> str:
    """The environment a request runs in: ``x-fastn-env``, prod when absent (SPEC §11)."""
    environment = request.headers.get(ENV_HEADER, PROD).strip()
    if environment not in ENVIRONMENTS:
        raise ApiError(400, "invalid_request", f"The {ENV_HEADER} header is test or prod.")
    return environment


@router.get("/executions", response={200: Page[ExecutionOut], **ERRORS}, tags=["executions"])
def executions_list(
    request: HttpRequest,
    paging: Query[Paging],
    workflow_id: uuid.UUID | None = None,
    status: Text | None = None,
    environment: Literal["test", "prod"] | None = None,
    since: Text | None = SINCE,
) -> dict[str, Any]:
    """The customer's execution log, newest first."""
    _customer_data(request, "executions.read")
    executions = ExecutionLog.objects.order_by("-created_at", "id")
    if workflow_id is not None:
        executions = executions.filter(workflow_id=workflow_id)
    if status:
        executions = executions.filter(status=status)
    if environment:
        executions = executions.filter(environment=environment)
    if since:
        executions = executions.filter(created_at__gte=_since(since))
    return _page(executions, paging)


def _since(value: str) -> datetime:
    """``since``: a period of the console's filter (``15m`` … ``30d``) or an ISO 8601 time."""
    try:
        start = period_start(value) if value in PERIODS else parse_datetime(value)
    except ValueError:  # well formed but not a date (a 13th month)
        start = None
    if start is None:
        raise ApiError(
            422, "invalid_request", "since is 15m, 1h, 24h, 7d, 30d or an ISO 8601 date-time."
        )
    return start if timezone.is_aware(start) else start.replace(tzinfo=UTC)


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
    # The same source as Settings → Billing and the customer's Limits tab.
    series = usage_series(
        organization=api.organization,
        days=days,
        customer_id=api.customer.id if api.customer else None,
        whole_organization=api.customer is None,
    )
    return {
        "customer_id": api.customer.id if api.customer else None,
        "windows": windows,
        "daily": series.daily(),
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
