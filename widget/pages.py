"""What every widget page answers with: who may frame it, and the page of a refusal."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from fastn_console.console import scope_reentered
from tenancy.context import Scope
from widget.embedding import embedding_origins, frame_ancestors

REFUSAL_MESSAGES = {
    "organization_suspended": "This organization's account is suspended, so its integrations "
    "cannot be managed right now.",
    "customer_suspended": "This account is not active, so its integrations cannot be managed "
    "right now.",
}


def frame_headers(response: HttpResponse, origins: list[str] | None = None) -> HttpResponse:
    """Only the console itself and the organization's allowed origins may frame the page (no
    organization is known yet for a token that does not verify: then only the console)."""
    response["Content-Security-Policy"] = frame_ancestors(origins or [])
    response.xframe_options_exempt = True  # type: ignore[attr-defined]
    # An OAuth Connect from an embedded widget runs in a popup whose last page hands the result
    # to the frame that opened it (static/widget/widget.js); the console's default
    # "same-origin" would sever that link, since the frame's top-level page is the partner's.
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response


def refused(request: HttpRequest, code: str, status: int = 403) -> HttpResponse:
    return render(
        request,
        "widget/refused.html",
        {"code": code, "message": REFUSAL_MESSAGES.get(code, "")},
        status=status,
    )


def origins_in(scope: Scope) -> list[str]:
    """The allowed embedding origins, also for a view that runs outside the request's
    transaction (``scope_reentered``)."""
    with scope_reentered(scope):
        return embedding_origins()
