"""A customer's events (SPEC §11 "Events"): the list, newest first, and one event with its
payload and the executions it triggered, under ``/o/<org>/customers/<uuid>/events/``."""

from __future__ import annotations

import json
import uuid

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dataplane.events import event_executions, event_list, event_retention_days
from dataplane.models import Event
from dataplane.views.pages import page_context
from fastn_console.console import get_for_tenant_or_404, permission_required, tenant_of

PAGE_SIZE = 25


def _retention(request: HttpRequest) -> int:
    return event_retention_days(organization=tenant_of(request).organization)


@permission_required("executions.read")
def events(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    page = Paginator(event_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "dataplane/event_list.html",
        page_context(request, page=page, retention_days=_retention(request)),
    )


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
