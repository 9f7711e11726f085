"""Test-only URLs: console pages that write, then fail (or not), to prove the middleware rolls
back every database of the scope on an exception or a 5xx."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.urls import path

from audit.services import audit_record
from dataplane.services import configuration_set_unchecked
from fastn_console.urls import urlpatterns as console_urlpatterns

PROBE_KEY = "iso-rollback-probe"
PROBE_ACTION = "iso.rollback_probe"


def _finish(outcome: str) -> HttpResponse:
    if outcome == "raise":
        raise RuntimeError("failed after writing")
    if outcome == "503":
        return HttpResponse("unavailable", status=503)
    return HttpResponse("ok")


def customer_probe(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, outcome: str
) -> HttpResponse:
    configuration_set_unchecked(key=PROBE_KEY, value=outcome)
    audit_record(actor=request.user, action=PROBE_ACTION, subject_customer_id=customer_id)
    return _finish(outcome)


def organization_probe(request: HttpRequest, org_slug: str, outcome: str) -> HttpResponse:
    audit_record(actor=request.user, action=PROBE_ACTION)
    return _finish(outcome)


urlpatterns = [
    path(
        "o/<slug:org_slug>/customers/<uuid:customer_id>/iso-probe/<str:outcome>/",
        customer_probe,
    ),
    path("o/<slug:org_slug>/iso-probe/<str:outcome>/", organization_probe),
    *console_urlpatterns,
]
