"""How an API request enters its scope (SPEC §5.7, §3, §7).

``api_scope`` wraps every API operation:

0. A client address whose calls ended in 401 too often (``API_UNAUTHENTICATED_PER_IP``) is
   refused with a 429 until the throttle's window ends, before any key is looked up.
1. The bearer key's organization part selects the organization context; the key is found there
   by its hash (a revoked or unknown key is a 401, counted against the client's address).
2. The organization's and the customer's states apply: suspended, deleting, pending activation,
   relocating (writes) are refused with stable codes.
3. ``x-end-org-id`` names the customer (its UUID). A key limited to selected customers needs it
   and may name only those; any customer outside the key's scope or organization is a 404.
4. The call is counted against the customer's rate limits (or the organization-wide bucket when
   no customer is named) and refused with a 429 when over a limit. Event ingestion counts its
   events together with the call, in the operation itself.
5. The operation runs inside ``tenancy.context`` for the organization and customer, as
   ``app.role = 'customer'`` for keys limited to selected customers, and rolls back on a 5xx.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import redis
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from api import keys as key_format
from api import ratelimit
from api.models import ApiKey, ApiKeyCustomer
from billing.selectors import plan_limit
from customers import states
from customers.models import (
    Customer,
    CustomerLimitOverride,
    Organization,
)
from customers.plans import PER_CUSTOMER_LIMITS
from fastn_console.throttle import (
    API_UNAUTHENTICATED_PER_IP,
    Refused,
    by_ip,
    throttle_hit,
    throttle_peek,
)
from tenancy.context import CUSTOMER, ORGANIZATION, context, mark_rollback, require_scope
from webhooks.services import limit_notices_record

logger = logging.getLogger(__name__)

END_ORG_HEADER = "x-end-org-id"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# last_used_at is a hint, not an audit trail: write it at most once a minute per key.
LAST_USED_PRECISION = timedelta(minutes=1)


class ApiError(Exception):
    """An error with a stable code, rendered as ``{"error": {"code", "message", ...}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        limit: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.limit = limit
        self.headers = headers or {}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    error.update({k: v for k, v in extra.items() if v is not None})
    return {"error": error}


def error_response(error: ApiError) -> HttpResponse:
    response = JsonResponse(
        error_body(error.code, error.message, limit=error.limit), status=error.status
    )
    for name, value in error.headers.items():
        response[name] = value
    return response


# --- Step 0: failed calls are limited per client address ---------------------------------------


def _unauthenticated_refusal(retry_after: int) -> ApiError:
    rule = API_UNAUTHENTICATED_PER_IP
    return ApiError(
        429,
        "rate_limited",
        Refused(rule, retry_after).message,
        limit={"name": rule.name, "value": rule.limit, "retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def address_cut_off(request: HttpRequest) -> ApiError | None:
    """The 429 for an address that failed too often in this window, or ``None``. Read before
    any key is looked up: guessing keys from one address stops costing lookups at the limit.
    An unreachable cache lets the call through, as the throttle does."""
    refused = throttle_peek(by_ip(API_UNAUTHENTICATED_PER_IP, request))
    return _unauthenticated_refusal(refused.retry_after) if refused else None


def counted_failure(request: HttpRequest, error: ApiError) -> ApiError:
    """``error`` itself, once a 401 is counted against the client's address; past the limit a
    429 instead. Other errors never count."""
    if error.status != 401:
        return error
    refused = throttle_hit(by_ip(API_UNAUTHENTICATED_PER_IP, request))
    return error if refused is None else _unauthenticated_refusal(refused.retry_after)


# --- Steps 1–5 ----------------------------------------------------------------------------------


@dataclass
class ApiKeyPrincipal:
    """An API key acting for its organization; ``authorize`` asks it for catalog keys.

    ``pk`` and ``email`` let services record it in the audit log as "API key <name>".
    """

    key: ApiKey
    organization: Organization
    permissions: frozenset[str]
    customer_ids: frozenset[uuid.UUID] | None  # None: every customer
    pk: None = None

    @property
    def email(self) -> str:
        return f"API key {self.key.name} ({self.key.prefix}…)"

    @property
    def is_customer_restricted(self) -> bool:
        """Limited to selected customers (``authorize`` then refuses what no restricted
        principal holds, e.g. ``billing.manage``)."""
        return self.customer_ids is not None

    def has_catalog_permission(
        self, key: str, organization: Organization, customer: Customer | None
    ) -> bool:
        if organization.id != self.key.org_id or key not in self.permissions:
            return False
        if self.customer_ids is not None:
            return customer is not None and customer.id in self.customer_ids
        return True


@dataclass
class ApiRequest:
    """What ``api_scope`` resolved; operations read it with ``api_request_of(request)``."""

    principal: ApiKeyPrincipal
    organization: Organization
    customer: Customer | None
    limits: dict[str, int]
    decision: ratelimit.Decision | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def org_id(self) -> uuid.UUID:
        return self.organization.id


def _bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        raise ApiError(401, "missing_api_key", "Send the key as 'Authorization: Bearer <key>'.")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(401, "invalid_api_key", "Send the key as 'Authorization: Bearer <key>'.")
    return value.strip()


def _invalid_key() -> ApiError:
    return ApiError(401, "invalid_api_key", "The API key is not valid.")


def _find_key(parsed: key_format.ParsedKey) -> ApiKey:
    """Inside the key's organization context: the key with its organization and preset."""
    key = (
        ApiKey.objects.select_related("role", "org__plan")
        .filter(secret_hash__in=key_format.candidate_hashes(parsed.raw))
        .first()
    )
    if key is None:
        raise _invalid_key()
    if key.revoked_at is not None:
        raise ApiError(401, "api_key_revoked", "The API key has been revoked.")
    current = key_format.hash_key(parsed.raw)
    if key.secret_hash != current:
        # Matched under a SECRET_KEY_FALLBACKS entry: store it under the current secret key,
        # so the key keeps working once the fallback is dropped (docs/KEYS.md).
        ApiKey.objects.filter(id=key.id, secret_hash=key.secret_hash).update(secret_hash=current)
        key.secret_hash = current
    return key


def _state_error(code: str | None) -> None:
    if code is not None:
        refusal = states.REFUSALS[code]
        raise ApiError(refusal.status, code, refusal.message)


def _check_organization(organization: Organization) -> None:
    _state_error(states.organization_refusal(organization, "api"))


def _customer_not_found() -> ApiError:
    return ApiError(404, "customer_not_found", "No such customer for this API key.")


MALFORMED = uuid.UUID(int=0)  # never a customer: a malformed header is a 404 after the 401 checks


def _header_customer_id(request: HttpRequest) -> uuid.UUID | None:
    header = request.headers.get(END_ORG_HEADER, "").strip()
    if not header:
        return None
    try:
        return uuid.UUID(header)
    except ValueError:
        return MALFORMED


def _resolve_customer(
    customer_id: uuid.UUID | None, key: ApiKey, allowed: frozenset[uuid.UUID] | None
) -> Customer | None:
    if customer_id is None:
        if not key.all_customers:
            raise ApiError(
                400,
                "end_org_id_required",
                f"This key is limited to selected customers: send the {END_ORG_HEADER} header.",
            )
        return None
    customer = Customer.objects.live().filter(id=customer_id).first()
    if customer is None or (allowed is not None and customer.id not in allowed):
        raise _customer_not_found()
    return customer


def check_customer_state(customer: Customer, method: str) -> None:
    action: states.Action = "api" if method in SAFE_METHODS else "api_write"
    _state_error(states.customer_refusal(customer, action))


def rate_limits(organization: Organization, customer: Customer | None) -> dict[str, int]:
    """Effective rate limits, read on every request so an override applies at once."""
    keys = list(ratelimit.LIMIT_WINDOWS)
    values = {key: plan_limit(organization=organization, key=key) for key in keys}
    if customer is not None:
        overrides = CustomerLimitOverride.objects.filter(
            customer_id=customer.id, limit_key__in=[k for k in keys if k in PER_CUSTOMER_LIMITS]
        ).values_list("limit_key", "value")
        values.update({key: int(value) for key, value in overrides})
    return values


def _allowed_customers(key: ApiKey) -> frozenset[uuid.UUID] | None:
    """The customers a limited key may act for, as far as the current scope shows them (in a
    customer scope: that customer, if the key has it)."""
    if key.all_customers:
        return None
    return frozenset(
        ApiKeyCustomer.objects.filter(api_key_id=key.id).values_list("customer_id", flat=True)
    )


def _touch(key: ApiKey) -> None:
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_PRECISION:
        ApiKey.objects.filter(id=key.id).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
        ).update(last_used_at=now)


def authenticate(request: HttpRequest, parsed: key_format.ParsedKey) -> ApiRequest:
    """Steps 1–3, inside the organization's context (narrowed to the named customer)."""
    key = _find_key(parsed)
    organization = key.org
    _check_organization(organization)
    allowed = _allowed_customers(key)
    customer = _resolve_customer(require_scope().customer_id, key, allowed)
    if customer is not None:
        check_customer_state(customer, request.method or "GET")
    principal = ApiKeyPrincipal(
        key=key,
        organization=organization,
        permissions=frozenset(key.role.permissions),
        customer_ids=allowed,
    )
    limits = rate_limits(organization, customer)
    _touch(key)
    return ApiRequest(principal, organization, customer, limits)


def rate_limit_error(decision: ratelimit.Decision) -> ApiError:
    name = decision.refused_limit or ""
    value = decision.limits.get(name)
    label = name.replace("_", " ")
    return ApiError(
        429,
        "rate_limited",
        f"Rate limit exceeded: {value} {label}. Retry after {decision.retry_after} s.",
        limit={"name": name, "value": value, "retry_after": decision.retry_after},
        headers={"Retry-After": str(decision.retry_after)},
    )


def charge(api: ApiRequest, *, events: int = 0) -> None:
    """Count this call (and ``events`` events) or raise a 429 naming the limit."""
    amounts = {ratelimit.API_CALL: 1}
    if events:
        amounts[ratelimit.EVENT] = events
    decision = count_or_refuse(
        organization=api.organization, customer=api.customer, amounts=amounts, limits=api.limits
    )
    api.decision = decision
    minute = "api_calls_per_minute"
    api.extra_headers["X-RateLimit-Limit"] = str(decision.limits[minute])
    api.extra_headers["X-RateLimit-Remaining"] = str(decision.remaining(minute))


def count_or_refuse(
    *,
    organization: Organization,
    customer: Customer | None,
    amounts: dict[str, int],
    limits: dict[str, int] | None = None,
) -> ratelimit.Decision:
    """Count ``amounts`` (usage kind → amount) against the rate limits, or raise the
    ``ApiError`` that refuses them: 429 naming the limit, 503 while Redis cannot count. Limit
    notices are recorded either way. API calls, and inbound webhook deliveries
    (``api.inbound``), count here."""
    try:
        decision = ratelimit.check_and_count(
            org_id=organization.id,
            customer_id=customer.id if customer else None,
            amounts=amounts,
            limits=limits if limits is not None else rate_limits(organization, customer),
        )
    except redis.RedisError:
        logger.exception("Rate limiter unavailable")
        raise ApiError(
            503,
            "rate_limiter_unavailable",
            "The service cannot count calls right now; retry shortly.",
            headers={"Retry-After": "5"},
        ) from None
    limit_notices_record(
        organization=organization, customer=customer, decision=decision, amounts=amounts
    )
    if not decision.allowed:
        raise rate_limit_error(decision)
    return decision


_API_ATTRIBUTE = "api"


def api_request_of(request: HttpRequest) -> ApiRequest | None:
    """What ``api_scope`` resolved for this request; ``None`` outside an API operation."""
    api = getattr(request, _API_ATTRIBUTE, None)
    return api if isinstance(api, ApiRequest) else None


CHARGES_EVENTS = "_api_charges_events"


def charges_events(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an operation that counts its call itself, together with its events."""
    setattr(view, CHARGES_EVENTS, True)
    return view


def _run(
    run: Callable[..., HttpResponse], request: HttpRequest, *args: Any, **kwargs: Any
) -> HttpResponse:
    response = run(request, *args, **kwargs)
    if response.status_code >= 500:
        mark_rollback()
    return response


def api_scope(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap an operation's ``run`` (django-ninja's view-mode decorator): steps 1–5 above."""
    operation = getattr(run, "__self__", None)
    counts_itself = bool(getattr(getattr(operation, "view_func", None), CHARGES_EVENTS, False))

    def scoped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        cut_off = address_cut_off(request)
        if cut_off is not None:
            return error_response(cut_off)
        try:
            parsed = key_format.parse(_bearer(request))
            if parsed is None:
                raise _invalid_key()
        except ApiError as error:
            return error_response(counted_failure(request, error))
        customer_id = _header_customer_id(request)
        # The key's own organization part selects the context; naming the customer up front
        # keeps the transaction to the main database and that customer's region.
        with context(org_id=parsed.org_id, customer_id=customer_id, role=ORGANIZATION):
            try:
                api = authenticate(request, parsed)
                if not counts_itself:
                    charge(api)
            except ApiError as error:
                return error_response(counted_failure(request, error))
            setattr(request, _API_ATTRIBUTE, api)
            if api.principal.is_customer_restricted:
                # API keys are invisible to customer-restricted principals, so narrowing to
                # app.role = 'customer' happens after the key was found.
                with context(org_id=api.org_id, customer_id=customer_id, role=CUSTOMER):
                    response = _run(run, request, *args, **kwargs)
            else:
                response = _run(run, request, *args, **kwargs)
        for name, value in api.extra_headers.items():
            response[name] = value
        return response

    return scoped
