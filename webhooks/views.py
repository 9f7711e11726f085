"""Settings → ADVANCED → Webhooks (SPEC §12), guarded by ``organization.manage_settings``.

Organization-wide members only (customer-restricted ones get 404, like every settings page);
every object is loaded through a ``_get_<thing>_for_user`` helper, so another organization's
endpoint or delivery is a 404.
"""

from __future__ import annotations

import json
import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from fastn_console.console import (
    button_action,
    form_saved,
    get_for_tenant_or_404,
    organization_wide,
)
from roles.catalog import MANAGE_SETTINGS
from webhooks import events, selectors, services
from webhooks.forms import EndpointForm
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

PAGE_SIZE = 25


def _get_endpoint_for_user(request: HttpRequest, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    organization_wide(request, MANAGE_SETTINGS)
    return get_for_tenant_or_404(WebhookEndpoint.objects.all(), id=endpoint_id)


def _get_delivery_for_user(request: HttpRequest, delivery_id: uuid.UUID) -> WebhookDelivery:
    organization_wide(request, MANAGE_SETTINGS)
    return get_for_tenant_or_404(
        WebhookDelivery.objects.select_related("endpoint", "event"), id=delivery_id
    )


def endpoint_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization_wide(request, MANAGE_SETTINGS)
    search = request.GET.get("q", "").strip()
    page = Paginator(selectors.endpoint_list(search=search), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "webhooks/endpoint_list.html",
        {"page": page, "search": search, "event_types": events.EVENT_TYPES},
    )


@never_cache
def endpoint_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request, MANAGE_SETTINGS)
    form = EndpointForm(request.POST or None)
    created = form_saved(
        request,
        form,
        lambda: services.webhook_endpoint_create(
            acting_user=request.user, organization=tenant.organization, **form.cleaned_data
        ),
    )
    if created is not None:
        # The secret is rendered into this one response and stored only encrypted.
        return render(
            request,
            "webhooks/endpoint_created.html",
            {"endpoint": created.endpoint, "secret": created.secret},
        )
    return render(request, "webhooks/endpoint_form.html", {"form": form, "title": "Add endpoint"})


def endpoint_detail(request: HttpRequest, org_slug: str, endpoint_id: uuid.UUID) -> HttpResponse:
    endpoint = _get_endpoint_for_user(request, endpoint_id)
    status = request.GET.get("status", "")
    if status not in DeliveryStatus.values:
        status = ""
    page = Paginator(selectors.endpoint_deliveries(endpoint, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "webhooks/endpoint_detail.html",
        {
            "endpoint": endpoint,
            "page": page,
            "status": status,
            "statuses": DeliveryStatus.choices,
            "event_types": events.EVENT_TYPES,
        },
    )


def endpoint_edit(request: HttpRequest, org_slug: str, endpoint_id: uuid.UUID) -> HttpResponse:
    endpoint = _get_endpoint_for_user(request, endpoint_id)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
    }
    form = EndpointForm(request.POST or None, initial=initial)
    saved = form_saved(
        request,
        form,
        lambda: services.webhook_endpoint_update(
            acting_user=request.user, endpoint=endpoint, **form.cleaned_data
        ),
    )
    if saved is not None:
        messages.success(request, "The endpoint is saved.")
        return redirect("webhooks:endpoint_detail", org_slug=org_slug, endpoint_id=endpoint.id)
    return render(
        request,
        "webhooks/endpoint_form.html",
        {"form": form, "title": "Edit endpoint", "endpoint": endpoint},
    )


def endpoint_delete(request: HttpRequest, org_slug: str, endpoint_id: uuid.UUID) -> HttpResponse:
    endpoint = _get_endpoint_for_user(request, endpoint_id)
    if request.method == "POST":
        services.webhook_endpoint_delete(acting_user=request.user, endpoint=endpoint)
        messages.success(request, "The endpoint is deleted; no more events are sent to it.")
        return redirect("webhooks:endpoint_list", org_slug=org_slug)
    return render(request, "webhooks/endpoint_confirm_delete.html", {"endpoint": endpoint})


@require_POST
def endpoint_enable(request: HttpRequest, org_slug: str, endpoint_id: uuid.UUID) -> HttpResponse:
    endpoint = _get_endpoint_for_user(request, endpoint_id)
    services.webhook_endpoint_enable(acting_user=request.user, endpoint=endpoint)
    messages.success(request, "The endpoint is enabled; new events are sent to it again.")
    return redirect("webhooks:endpoint_detail", org_slug=org_slug, endpoint_id=endpoint.id)


@require_POST
def endpoint_test(request: HttpRequest, org_slug: str, endpoint_id: uuid.UUID) -> HttpResponse:
    endpoint = _get_endpoint_for_user(request, endpoint_id)
    return button_action(
        request,
        lambda: services.webhook_endpoint_test(acting_user=request.user, endpoint=endpoint),
        done="A test event is on its way; its delivery appears below.",
        then="webhooks:endpoint_detail",
        org_slug=org_slug,
        endpoint_id=endpoint.id,
    )


def delivery_detail(request: HttpRequest, org_slug: str, delivery_id: uuid.UUID) -> HttpResponse:
    delivery = _get_delivery_for_user(request, delivery_id)
    return render(
        request,
        "webhooks/delivery_detail.html",
        {
            "delivery": delivery,
            "attempts": selectors.delivery_attempts(delivery),
            "payload": json.dumps(services.event_payload(delivery.event), indent=2),
        },
    )


@require_POST
def delivery_redeliver(request: HttpRequest, org_slug: str, delivery_id: uuid.UUID) -> HttpResponse:
    delivery = _get_delivery_for_user(request, delivery_id)
    try:
        again = services.webhook_delivery_redeliver(acting_user=request.user, delivery=delivery)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("webhooks:delivery_detail", org_slug=org_slug, delivery_id=delivery.id)
    messages.success(request, "The event is being delivered again.")
    return redirect("webhooks:delivery_detail", org_slug=org_slug, delivery_id=again.id)
