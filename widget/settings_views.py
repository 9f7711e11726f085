"""Settings → General → Allowed embedding origins (SPEC §11 "Embedding").

The General page (``customers.views.general``) shows the section through
``templates/widget/_embedding_origins.html``, whose data the ``embedding_origins_section`` tag
reads; the form posts here. A valid list is saved and the member goes back to General; an
invalid one is shown again on this page with each refused origin explained and the text kept.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from fastn_console.console import organization_wide, permission_required
from roles.catalog import MANAGE_SETTINGS
from widget.embedding import embedding_origins, embedding_origins_set
from widget.forms import EmbeddingOriginsForm


def embedding_origins_form(data: Any = None) -> EmbeddingOriginsForm:
    """The form, filled with the organization in scope's origins unless ``data`` is posted."""
    return EmbeddingOriginsForm(data, initial={"origins": "\n".join(embedding_origins())})


@require_http_methods(["GET", "POST"])
@permission_required(MANAGE_SETTINGS)
def embedding_origins_edit(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request)
    form = embedding_origins_form(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        saved = embedding_origins_set(
            acting_user=request.user,
            organization=tenant.organization,
            origins=form.cleaned_data["origins"],
        )
        messages.success(
            request,
            f"Allowed embedding origins saved ({len(saved)})."
            if saved
            else "No origin may embed the widget now.",
        )
        return redirect("customers:general", org_slug=tenant.organization.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "widget/embedding_origins.html", {"form": form}, status=status)
