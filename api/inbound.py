"""``POST /hooks/<org slug>/<customer id>/<event name>``: a customer's inbound webhook
(SPEC §11 "Triggers"; what it checks and stores is ``dataplane.inbound``).

No key and no session: the Standard Webhooks signature, by the customer's own secret, is the
credential. It answers in the API's JSON error shape — ``202 {"id", "runs"}`` for a stored
event, ``200 {"duplicate": true}`` for a retry of one, 401 ``invalid_signature``, 400/413 for
the payload, 429 ``rate_limited`` once the customer's event limits are reached (a delivery
counts as one event, as on the API; a duplicate counts nothing), 404 for an organization,
customer or URL that does not exist (a customer without a secret, or one its state hides) — and
stores nothing when it refuses. The URL kwarg is
``organization`` (not ``org_slug``): the console's middleware does not scope it to a signed-in
member; the view enters the customer's own scope.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from api import ratelimit
from api.auth import ApiError, count_or_refuse, error_body, error_response
from customers import states
from customers.models import Customer, Organization
from dataplane.inbound import InboundRefused, inbound_accept
from tenancy.context import CUSTOMER, context


def _count_event(organization: Organization, customer: Customer) -> None:
    """A delivery is one of the customer's events: it counts toward the plan's event limits
    (per minute and per day) and usage like an event sent to the API."""
    count_or_refuse(organization=organization, customer=customer, amounts={ratelimit.EVENT: 1})


def _refused(refused: InboundRefused) -> JsonResponse:
    return JsonResponse(error_body(refused.code, refused.message), status=refused.status)


@csrf_exempt
@login_not_required
@require_POST
def receive(
    request: HttpRequest, organization: str, customer_id: uuid.UUID, event_name: str
) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    length = str(request.META.get("CONTENT_LENGTH") or "0")
    if limit is not None and length.isdigit() and int(length) > limit:
        return _refused(
            InboundRefused(413, "payload_too_large", f"At most {limit} bytes are read.")
        )
    with context():  # organizations are readable to every scope
        live = Organization.objects.live().filter(slug=organization)
        org = live.values_list("id", flat=True).first()
    if org is None:
        return _refused(InboundRefused(404, "not_found", "Not found."))
    with context(org_id=org, customer_id=customer_id, role=CUSTOMER):
        owner = Organization.objects.get(id=org)
        customer = Customer.objects.live().filter(id=customer_id).first()
        try:
            if customer is None:
                raise InboundRefused(404, "not_found", "Not found.")
            # The states the API refuses a write in refuse a delivery the same way (SPEC §3).
            code = states.organization_refusal(owner, "api") or states.customer_refusal(
                customer, "api_write"
            )
            if code is not None:
                raise InboundRefused(
                    states.REFUSALS[code].status, code, states.REFUSALS[code].message
                )
            accepted = inbound_accept(
                organization=owner,
                customer=customer,
                event_name=event_name,
                headers=request.headers,  # case-insensitive
                body=request.body,
                admit=lambda: _count_event(owner, customer),
            )
        except InboundRefused as refused:
            return _refused(refused)
        except ApiError as refused:  # a rate limit, or the limiter down
            return error_response(refused)
    if accepted.event is None:
        return JsonResponse({"duplicate": True}, status=200)
    return JsonResponse({"id": str(accepted.event.id), "runs": accepted.runs}, status=202)
