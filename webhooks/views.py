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
    Tenant,
    add_service_errors,
    get_for_tenant_or_404,
    organization_wide,
)
from roles.catalog import MANAGE_SETTINGS
from webhooks import events, selectors, services
from webhooks.forms import EndpointForm
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

PAGE_SIZE = 25


def _settings_manager(request: HttpRequest) -> Tenant:
    tenant = organization_wide(request)
    tenant.authorize(MANAGE_SETTINGS)
    return tenant


def _get_endpoint_for_user(request: HttpRequest, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    _settings_manager(request)
    return get_for_tenant_or_404(WebhookEndpoint.objects.all(), id=endpoint_id)


def _get_delivery_for_user(request: HttpRequest, delivery_id: uuid.UUID) -> WebhookDelivery:
    _settings_manager(request)
    return get_for_tenant_or_404(
        WebhookDelivery.objects.select_related("endpoint", "event"), id=delivery_id
    )


def endpoint_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    _settings_manager(request)
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
    tenant = _settings_manager(request)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.webhook_endpoint_create(
                acting_user=request.user,
                organization=tenant.organization,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
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
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_endpoint_update(
                acting_user=request.user,
                endpoint=endpoint,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
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


def _refused(request: HttpRequest, error: ValidationError) -> None:
    messages.error(request, " ".join(error.messages))


@require_POST
def endpoint_test(request: HttpRequest, org_slug: str, endpoint_id: uuid.UUID) -> HttpResponse:
    endpoint = _get_endpoint_for_user(request, endpoint_id)
    try:
        services.webhook_endpoint_test(acting_user=request.user, endpoint=endpoint)
    except ValidationError as error:
        _refused(request, error)
    else:
        messages.success(request, "A test event is on its way; its delivery appears below.")
    return redirect("webhooks:endpoint_detail", org_slug=org_slug, endpoint_id=endpoint.id)


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
        _refused(request, error)
        return redirect("webhooks:delivery_detail", org_slug=org_slug, delivery_id=delivery.id)
    messages.success(request, "The event is being delivered again.")
    return redirect("webhooks:delivery_detail", org_slug=org_slug, delivery_id=again.id)
