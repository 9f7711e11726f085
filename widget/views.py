"""The end-user widget's pages at ``/widget/<org_slug>/<customer_uuid>/`` (SPEC §5.7, §9);
who may open them, and in which scope, is ``widget.access``.

Pages may be framed by the organization's allowed embedding origins (``frame-ancestors 'self'
<origins>``, ``widget.embedding``); ``static/widget/widget.js`` tells the embedding page what
happens (``fastn:ready``, ``fastn:connection.created``, ``fastn:connection.removed``,
``fastn:close``) by ``postMessage`` to that page's origin only when it is allowed. A view that
wants one of these events sent after its redirect passes it to ``_back`` (signed, so no link
can make the widget announce what did not happen).

A view that calls out (``try_connection``) is marked ``outside_request_transaction``: for either
principal it runs with no transaction open and enters ``widget.entered()`` around its reads and
writes, the outbound call between them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.selectors import memberships_of_current_user
from build.models import Connector
from build.selectors import build_item_snapshot, connectors_deployed_to_prod
from build.services import CONNECTORS
from dataplane import oauth
from dataplane import services as dataplane
from dataplane.forms import ConfigurationValueForm, CredentialsForm
from dataplane.models import Configuration, Connection, ExecutionLog
from dataplane.views.connections import oauth_redirect_uri
from dataplane.views.pages import attempt, flash_connection_test, submitted
from fastn_console.console import (
    get_for_tenant_or_404,
    outside_request_transaction,
)
from widget import tokens
from widget.access import Widget, widget_view
from widget.embedding import announced, announcing


def _render(request: HttpRequest, widget: Widget, template: str, **extra: Any) -> HttpResponse:
    context = {"widget": widget, "perms": widget.perms, "announce": announced(request)}
    return render(request, template, {**context, **extra})


def entry(request: HttpRequest) -> HttpResponse:
    """``/widget/``: a signed-in customer-restricted member goes to their customer's widget."""
    membership = memberships_of_current_user().filter(restricted_customer__isnull=False).first()
    if membership is None:
        raise Http404
    return redirect(
        "widget:home", org_slug=membership.org.slug, customer_id=membership.restricted_customer_id
    )


@widget_view
def home(request: HttpRequest, widget: Widget) -> HttpResponse:
    widget.authorize("connections.read")
    connections = list(Connection.objects.all().order_by("name", "id"))
    connectors = {
        c.id: c for c in Connector.objects.filter(id__in={c.connector_id for c in connections})
    }
    rows = [(connection, connectors.get(connection.connector_id)) for connection in connections]
    available = list(connectors_deployed_to_prod()) if "connectors.read" in widget.perms else []
    configuration = Configuration.objects.filter(end_user_editable=True).order_by("key")
    executions = (
        ExecutionLog.objects.order_by("-created_at")[:20]
        if "executions.read" in widget.perms
        else []
    )
    return _render(
        request,
        widget,
        "widget/home.html",
        rows=rows,
        available=available,
        configuration=configuration,
        executions=executions,
    )


def _deployed_connector(connector_id: uuid.UUID) -> tuple[Connector, list[str]]:
    """A connector deployed to prod and the credential fields of its prod version."""
    connector = get_for_tenant_or_404(connectors_deployed_to_prod(), id=connector_id)
    snapshot = build_item_snapshot(kind=CONNECTORS, item=connector, number=connector.prod_version)
    return connector, list(snapshot.get("credential_fields") or [])


def _back(widget: Widget, event: str = "", **detail: str) -> HttpResponse:
    """Back to the widget's home page; with ``event`` (``connection.created``, …) that page
    sends ``fastn:<event>`` and ``detail`` to the embedding page."""
    url = widget.url("home")
    return redirect(announcing(url, event, **detail) if event else url)


@widget_view
def connect(request: HttpRequest, widget: Widget, connector_id: uuid.UUID) -> HttpResponse:
    widget.authorize("connections.create")
    connector, fields = _deployed_connector(connector_id)
    if connector.uses_authorization_code:
        return _oauth_connect(request, widget, connector)
    form = CredentialsForm(request.POST or None, fields=fields, name_initial=connector.name)

    def save() -> HttpResponse:
        connection = dataplane.connection_connect(
            **widget.writes(),
            connector=connector,
            name=form.cleaned_data["name"],
            credentials=form.credentials(),
            credential_fields=fields,
        )
        messages.success(request, f"Connected to {connector.name}.")
        return _back(
            widget,
            "connection.created",
            connection_id=str(connection.id),
            connector=connector.slug,
        )

    return submitted(request, form, save) or _render(
        request, widget, "widget/connect.html", connector=connector, form=form
    )


def _get_connection_for_widget(widget: Widget, connection_id: uuid.UUID) -> Connection:
    """A connection of the widget's customer, or 404 (the scope filters by customer)."""
    return get_for_tenant_or_404(Connection.objects.all(), id=connection_id)


def _get_connector_for_widget(widget: Widget, connection: Connection) -> Connector:
    """The connector of one of the widget's connections, or 404."""
    return get_for_tenant_or_404(Connector.objects.all(), id=connection.connector_id)


@widget_view
def reconnect(request: HttpRequest, widget: Widget, connection_id: uuid.UUID) -> HttpResponse:
    widget.authorize("connections.update")
    connection = _get_connection_for_widget(widget, connection_id)
    connector = _get_connector_for_widget(widget, connection)
    if connector.uses_authorization_code:
        return _oauth_connect(request, widget, connector, connection)
    form = CredentialsForm.for_connection(
        request.POST or None, connection=connection, connector=connector
    )

    def save() -> HttpResponse:
        dataplane.connection_update(
            **widget.writes(),
            connection=connection,
            connector=connector,
            name=form.cleaned_data["name"],
            credentials=form.credentials(),
        )
        messages.success(request, f"{connection.name} updated.")
        return _back(widget)

    return _connect_page(request, widget, form, save, connector, connection)


def _connect_page(
    request: HttpRequest,
    widget: Widget,
    form: CredentialsForm,
    save: Callable[[], HttpResponse],
    connector: Connector,
    connection: Any,
    **extra: Any,
) -> HttpResponse:
    """Connect or update: the form, or what a valid POST of it led to (``submitted``)."""
    return submitted(request, form, save) or _render(
        request,
        widget,
        "widget/connect.html",
        connector=connector,
        form=form,
        connection=connection,
        **extra,
    )


def _oauth_principal(widget: Widget) -> str:
    """Who started a connect attempt: the token's grant, or the signed-in member."""
    if widget.token is None:
        return f"user:{widget.principal.user_id}"
    return f"grant:{widget.principal.grant_id}"


def _oauth_connect(
    request: HttpRequest, widget: Widget, connector: Connector, connection: Any = None
) -> HttpResponse:
    """Connect or reconnect through the provider (``dataplane.oauth``): a POST goes there."""
    name = connection.name if connection else connector.name
    form = CredentialsForm(request.POST or None, fields=[], name_initial=name)

    def save() -> HttpResponse:
        return redirect(
            oauth.oauth_connect_start(
                **widget.writes(),
                connector=connector,
                connection=connection,
                principal=_oauth_principal(widget),
                surface=oauth.WIDGET,
                redirect_uri=oauth_redirect_uri(request),
                name=form.cleaned_data["name"],
            )
        )

    return _connect_page(request, widget, form, save, connector, connection, oauth=True)


@widget_view
@outside_request_transaction
def oauth_callback(request: HttpRequest, widget: Widget) -> HttpResponse:
    """The provider's answer (forwarded by ``/oauth/callback/``): check, exchange, store."""
    try:
        connection = oauth.oauth_callback_complete(
            **widget.writes(),
            principal=_oauth_principal(widget),
            query=request.GET.dict(),
            authorize=widget.authorize,
            enter=widget.entered,
        )
    except oauth.OAuthRefused as exc:
        messages.error(request, exc.message)
        return _back(widget)
    messages.success(request, f"Connected to {connection.name}.")
    return _back(widget, "connection.created", connection_id=str(connection.id))


@require_POST
@widget_view
@outside_request_transaction
def try_connection(request: HttpRequest, widget: Widget, connection_id: uuid.UUID) -> HttpResponse:
    widget.authorize("connections.execute")
    with widget.entered():
        connection = _get_connection_for_widget(widget, connection_id)
        connector = _get_connector_for_widget(widget, connection)
    flash_connection_test(
        request,
        **widget.writes(),
        connection=connection,
        connector=connector,
        enter=widget.entered,
    )
    return _back(widget)


@require_POST
@widget_view
def disconnect(request: HttpRequest, widget: Widget, connection_id: uuid.UUID) -> HttpResponse:
    widget.authorize("connections.delete")
    connection = _get_connection_for_widget(widget, connection_id)
    disconnected = attempt(
        request,
        lambda: dataplane.connection_disconnect(**widget.writes(), connection=connection),
        f"{connection.name} disconnected; its credentials are deleted.",
    )
    if not disconnected:
        return _back(widget)
    return _back(widget, "connection.removed", connection_id=str(connection.id))


@widget_view
def edit_configuration(request: HttpRequest, widget: Widget, config_id: uuid.UUID) -> HttpResponse:
    widget.authorize("connections.update")
    configuration = get_for_tenant_or_404(
        Configuration.objects.filter(end_user_editable=True), id=config_id
    )
    form = ConfigurationValueForm(request.POST or None, configuration=configuration)

    def save() -> HttpResponse:
        dataplane.configuration_update(
            **widget.writes(),
            configuration=configuration,
            value=form.new_value(),
            restricted=True,
        )
        messages.success(request, f"{configuration.key} saved.")
        return _back(widget)

    return submitted(request, form, save) or _render(
        request, widget, "widget/configuration.html", configuration=configuration, form=form
    )


@require_POST
@widget_view
def refresh_token(request: HttpRequest, widget: Widget) -> HttpResponse:
    """Exchange a valid token for a fresh 8-hour one (token holders only)."""
    if widget.token is None:
        raise Http404
    try:
        token = tokens.refresh(widget.principal)
    except tokens.TokenInvalid as exc:
        return JsonResponse({"error": f"token_{exc.reason}"}, status=403)
    return JsonResponse({"token": token, "expires_in": settings.EMBED_TOKEN_MAX_AGE_SECONDS})
