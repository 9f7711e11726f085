"""Settings → ADVANCED → API Keys (SPEC §9), guarded by ``organization.manage_settings``.

The page also lists the embed tokens and connect links still in force (SPEC §11). Revoking one
asks ``connections.share`` — SPEC §4's key for embed tokens and connect links — so whoever may
hand a link out may take it back, and someone who reads this page without that key sees the
list but no Revoke button (and the server refuses them).
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from api import selectors, services
from api.forms import ALL, ApiKeyForm
from api.models import ApiKey
from fastn_console.console import (
    form_saved,
    get_for_tenant_or_404,
    organization_wide,
)
from roles.catalog import MANAGE_SETTINGS
from widget.models import EmbedGrant
from widget.selectors import embed_grants_active
from widget.services import embed_grant_revoke

PAGE_SIZE = 25
SHARE = "connections.share"


def _get_key_for_user(request: HttpRequest, key_id: uuid.UUID) -> ApiKey:
    organization_wide(request, MANAGE_SETTINGS)
    return get_for_tenant_or_404(ApiKey.objects.select_related("role"), id=key_id)


def key_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request, MANAGE_SETTINGS)
    search = request.GET.get("q", "")
    page = Paginator(selectors.api_key_list(search=search), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [(key, selectors.api_key_customers(key)) for key in page.object_list]
    grants = Paginator(embed_grants_active(), PAGE_SIZE).get_page(request.GET.get("tokens"))
    return render(
        request,
        "api/key_list.html",
        {
            "page": page,
            "rows": rows,
            "search": search,
            "grants": grants,
            "can_revoke_grants": tenant.can(SHARE),
            "usage": selectors.usage_by_customer(organization=tenant.organization)[:10],
        },
    )


@never_cache
def key_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request, MANAGE_SETTINGS)
    presets = services.assignable_presets(membership=tenant.membership)
    form = ApiKeyForm(request.POST or None, presets=presets)
    created = form_saved(
        request,
        form,
        lambda: services.api_key_create(
            acting_user=request.user,
            membership=tenant.membership,
            organization=tenant.organization,
            name=form.cleaned_data["name"],
            role=form.cleaned_data["role"],
            all_customers=form.cleaned_data["scope"] == ALL,
            customers=form.cleaned_data["customers"],
        ),
    )
    if created is not None:
        # The secret is rendered into this one response and stored nowhere in clear.
        return render(request, "api/key_created.html", {"key": created.key, "secret": created.raw})
    return render(request, "api/key_form.html", {"form": form, "title": "Create API key"})


def key_revoke(request: HttpRequest, org_slug: str, key_id: uuid.UUID) -> HttpResponse:
    key = _get_key_for_user(request, key_id)
    if request.method == "POST":
        services.api_key_revoke(acting_user=request.user, key=key)
        messages.success(request, f"The key “{key.name}” is revoked; calls with it now fail.")
        return redirect("api:key_list", org_slug=org_slug)
    return render(request, "api/key_confirm_revoke.html", {"key": key})


def _get_embed_grant_for_user(request: HttpRequest, grant_id: uuid.UUID) -> EmbedGrant:
    """A grant of this organization the member may revoke; 404 outside it, 403 without the
    key (asked organization-wide first, then for the grant's own customer)."""
    tenant = organization_wide(request)
    tenant.authorize(SHARE)
    grant = get_for_tenant_or_404(EmbedGrant.objects.select_related("customer"), id=grant_id)
    tenant.authorize(SHARE, grant.customer)
    return grant


@require_POST
def embed_token_revoke(request: HttpRequest, org_slug: str, grant_id: uuid.UUID) -> HttpResponse:
    grant = _get_embed_grant_for_user(request, grant_id)
    embed_grant_revoke(acting_user=request.user, grant=grant)
    messages.success(
        request,
        f"The {grant.get_kind_display().lower()} for {grant.customer.name} is revoked; it and "
        "every renewal of it stop working at once.",
    )
    return redirect("api:key_list", org_slug=org_slug)
