"""``/widget/embed/``: where ``static/widget/embed.js`` points its frame (SPEC §11 "Embedding").

The script knows only the embed token; this view finds the token's widget and redirects there,
keeping ``embed_origin`` — the embedding page's own claim of its origin, which
``static/widget/widget.js`` checks against the organization's allowed origins before it posts
anything (and the browser delivers a message only to the parent's real origin anyway).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from customers.models import Organization
from tenancy.context import CUSTOMER, context
from widget import tokens
from widget.embedding import MAX_ORIGIN_LENGTH
from widget.pages import frame_headers, refused


@login_not_required
@require_GET
def embed(request: HttpRequest) -> HttpResponse:
    raw = str(request.GET.get("token", ""))
    try:
        principal = tokens.verify(raw)
    except tokens.TokenInvalid as exc:
        return frame_headers(refused(request, f"token_{exc.reason}"))
    with context(org_id=principal.org_id, customer_id=principal.customer_id, role=CUSTOMER):
        organization = Organization.objects.filter(id=principal.org_id).first()
    if organization is None:
        raise Http404
    path = reverse(
        "widget:home", kwargs={"org_slug": organization.slug, "customer_id": principal.customer_id}
    )
    query = {"token": raw}
    claimed = str(request.GET.get("embed_origin", ""))[:MAX_ORIGIN_LENGTH]
    if claimed:
        query["embed_origin"] = claimed
    return redirect(f"{path}?{urlencode(query)}")
