"""What the data-plane pages share: the customer they are about, the context and service
arguments built from the request, and the shape of a form page, a button and a confirmation.

``submitted``, ``attempt`` and ``flash_connection_test`` need no console tenant: the widget's
pages use them too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from customers.models import Customer
from dataplane import services
from dataplane.forms import ConsoleForm
from dataplane.models import Connection, ConnectionStatus
from fastn_console.console import tenant_of


def page_customer(request: HttpRequest) -> Customer:
    """The customer of the page (the middleware loaded it in the member's scope)."""
    customer = tenant_of(request).customer
    if customer is None:
        raise Http404
    return customer


def page_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    """The template context every data-plane page starts from."""
    tenant = tenant_of(request)
    return {
        "org": tenant.organization,
        "customer": page_customer(request),
        "restricted": tenant.is_customer_restricted,
        **extra,
    }


def writes(request: HttpRequest) -> dict[str, Any]:
    """What every data-plane service takes: who acts, for which organization and customer."""
    organization = tenant_of(request).organization
    return {
        "acting_user": request.user,
        "organization": organization,
        "customer": page_customer(request),
    }


def to_tab(request: HttpRequest, tab: str) -> HttpResponse:
    """Back to one of the customer page's tabs."""
    tenant = tenant_of(request)
    return redirect(
        "customers:customer_tab",
        org_slug=tenant.organization.slug,
        customer_id=page_customer(request).id,
        tab=tab,
    )


def to_page(request: HttpRequest, name: str, **ids: Any) -> HttpResponse:
    """To the data-plane page ``name`` of this customer (``connection_id=…`` and so on)."""
    tenant = tenant_of(request)
    return redirect(
        f"dataplane:{name}",
        org_slug=tenant.organization.slug,
        customer_id=page_customer(request).id,
        **ids,
    )


def submitted(
    request: HttpRequest, form: ConsoleForm, save: Callable[[], HttpResponse]
) -> HttpResponse | None:
    """A valid POST of ``form`` calls ``save`` (the service call, its message and the redirect)
    and returns its response; ``None`` when the form is to be shown (again), with the
    service's ValidationError on it."""
    if request.method == "POST" and form.is_valid():
        try:
            return save()
        except ValidationError as exc:
            form.add_service_errors(exc)
    return None


def attempt(request: HttpRequest, write: Callable[[], object], success: str) -> bool:
    """Call a service for a button; its ValidationError becomes the page's error message."""
    try:
        write()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return False
    messages.success(request, success)
    return True


def form_page(
    request: HttpRequest,
    form: ConsoleForm,
    template: str,
    save: Callable[[], HttpResponse],
    **extra: Any,
) -> HttpResponse:
    """A form page of the customer (see ``submitted``)."""
    response = submitted(request, form, save)
    if response is not None:
        return response
    return render(request, template, page_context(request, form=form, **extra))


def flash_connection_test(request: HttpRequest, *, connection: Connection, **test: Any) -> None:
    """Test ``connection`` (``services.connection_test``'s arguments, ``enter`` among them: the
    view runs outside the request's transaction) and say how it went: a success only when the
    credentials work."""
    try:
        outcome = services.connection_test(connection=connection, **test)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return
    level = messages.SUCCESS if outcome.status == ConnectionStatus.ACTIVE else messages.ERROR
    messages.add_message(request, level, f"{connection.name}: {outcome.message}")


def confirm_page(
    request: HttpRequest, delete: Callable[[], object], success: str, tab: str, **texts: str
) -> HttpResponse:
    """Ask before deleting (``title``, ``body``, ``button``); a POST deletes and goes to ``tab``."""
    if request.method == "POST" and attempt(request, delete, success):
        return to_tab(request, tab)
    return render(request, "dataplane/confirm.html", page_context(request, **texts))
