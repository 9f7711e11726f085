"""A customer's events (SPEC §11 "Events"): the list, newest first, and one event with its
payload and the executions it triggered, under ``/o/<org>/customers/<uuid>/events/``; the list
also shows the customer's inbound webhook URL, whose signing secret members who may edit the
customer create or rotate there (``dataplane.inbound``; shown once, in that response)."""

from __future__ import annotations

import json
import uuid

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dataplane.events import event_executions, event_list, event_retention_days
from dataplane.inbound import inbound_secret_rotate
from dataplane.models import Event
from dataplane.views.pages import page_context, page_customer
from fastn_console.console import get_for_tenant_or_404, permission_required, tenant_of

PAGE_SIZE = 25
INBOUND_SECRET_PERMISSION = "customers.update"


def _retention(request: HttpRequest) -> int:
    return event_retention_days(organization=tenant_of(request).organization)


def _event_list_page(request: HttpRequest, *, secret: str = "") -> HttpResponse:
    tenant = tenant_of(request)
    customer = page_customer(request)
    page = Paginator(event_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    hook = reverse(
        "inbound_webhook",
        kwargs={
            "organization": tenant.organization.slug,
            "customer_id": customer.id,
            "event_name": "e",
        },
    )
    return render(
        request,
        "dataplane/event_list.html",
        page_context(
            request,
            page=page,
            retention_days=_retention(request),
            inbound_base=request.build_absolute_uri(hook)[:-1],
            inbound_ready=bool(customer.inbound_secret_encrypted),
            may_rotate=INBOUND_SECRET_PERMISSION in tenant.permissions,
            secret=secret,
        ),
    )


@permission_required("executions.read")
def events(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    return _event_list_page(request)


@require_POST
@permission_required(INBOUND_SECRET_PERMISSION)
def inbound_secret(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    """Create or rotate the inbound webhook's signing secret; the page shows it this once."""
    tenant = tenant_of(request)
    secret = inbound_secret_rotate(
        acting_user=request.user, organization=tenant.organization, customer=page_customer(request)
    )
    return _event_list_page(request, secret=secret)


@permission_required("executions.read")
def event_detail(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, event_id: uuid.UUID
) -> HttpResponse:
    event = get_for_tenant_or_404(Event.objects.all(), id=event_id)
    return render(
        request,
        "dataplane/event_detail.html",
        page_context(
            request,
            event=event,
            payload=json.dumps(event.payload, indent=2, ensure_ascii=False),
            executions=event_executions(event=event),
            retention_days=_retention(request),
        ),
    )
