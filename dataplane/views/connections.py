"""Connections: connect a customer to a connector, edit, test, disconnect, delete, share.

An OAuth 2.0 connector with an authorize URL connects through its provider (``dataplane.oauth``):
Connect and Reconnect send the browser there, the provider sends it back to the one registered
``/oauth/callback/`` (``oauth_callback``), which forwards it to the customer's own callback page
(``connection_oauth_callback``, or the widget's), where the state is checked and the tokens are
stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from build.models import Connector
from dataplane import oauth, selectors, services
from dataplane.encryption import CredentialsUnreadable
from dataplane.forms import CredentialsForm
from dataplane.models import Connection, ExecutionLog
from dataplane.views.pages import (
    attempt,
    confirm_page,
    flash_connection_test,
    form_page,
    page_context,
    to_page,
    writes,
)
from fastn_console.console import (
    get_for_tenant_or_404,
    outside_request_transaction,
    permission_required,
    tenant_of,
    tenant_scope,
)
from widget import tokens
from widget.services import connect_link_path, embed_token_issue


@permission_required("connections.create")
def connection_new(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    """Pick the connector to connect the customer to."""
    search = request.GET.get("q", "")
    page = Paginator(selectors.connectable_connectors(search=search), 25).get_page(
        request.GET.get("page")
    )
    return render(
        request, "dataplane/connection_new.html", page_context(request, page=page, search=search)
    )


@permission_required("connections.create")
def connection_create(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, connector_id: uuid.UUID
) -> HttpResponse:
    connector = get_for_tenant_or_404(Connector.objects.all(), id=connector_id)
    if connector.uses_authorization_code:
        return _oauth_connect_page(request, connector)
    fields = list(connector.credential_fields or [])
    form = CredentialsForm(request.POST or None, fields=fields, name_initial=connector.name)

    def save() -> HttpResponse:
        connection = services.connection_connect(
            **writes(request),
            connector=connector,
            name=form.cleaned_data["name"],
            credentials=form.credentials(),
            credential_fields=fields,
        )
        messages.success(request, f"Connected to {connector.name}.")
        return to_page(request, "connection_detail", connection_id=connection.id)

    return form_page(request, form, "dataplane/connection_form.html", save, connector=connector)


@permission_required("connections.read")
def connection_detail(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, connection_id: uuid.UUID
) -> HttpResponse:
    connection = get_for_tenant_or_404(Connection.objects.all(), id=connection_id)
    try:
        masked, unreadable = selectors.masked_credentials(connection=connection), False
    except CredentialsUnreadable:
        masked, unreadable = [], True
    return render(
        request,
        "dataplane/connection_detail.html",
        page_context(
            request,
            connection=connection,
            connector=Connector.objects.filter(id=connection.connector_id).first(),
            masked=masked,
            unreadable=unreadable,
            executions=ExecutionLog.objects.filter(connection=connection)[:10],
        ),
    )


@permission_required("connections.update")
def connection_edit(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, connection_id: uuid.UUID
) -> HttpResponse:
    connection = get_for_tenant_or_404(Connection.objects.all(), id=connection_id)
    connector = get_for_tenant_or_404(Connector.objects.all(), id=connection.connector_id)
    if connector.uses_authorization_code:
        return _oauth_connect_page(request, connector, connection)
    form = CredentialsForm.for_connection(
        request.POST or None, connection=connection, connector=connector
    )

    def save() -> HttpResponse:
        services.connection_update(
            **writes(request),
            connection=connection,
            connector=connector,
            name=form.cleaned_data["name"],
            credentials=form.credentials(),
        )
        messages.success(request, f"{connection.name} saved.")
        return to_page(request, "connection_detail", connection_id=connection.id)

    return _connection_form_page(request, form, save, connector, connection)


def _connection_form_page(
    request: HttpRequest,
    form: CredentialsForm,
    save: Callable[[], HttpResponse],
    connector: Connector,
    connection: Connection | None,
    **extra: object,
) -> HttpResponse:
    """Edit (or reconnect) a connection: its credentials, or the way to its provider."""
    return form_page(
        request,
        form,
        "dataplane/connection_form.html",
        save,
        connector=connector,
        connection=connection,
        **extra,
    )


@require_POST
@outside_request_transaction
@permission_required("connections.execute")
def connection_test(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, connection_id: uuid.UUID
) -> HttpResponse:
    with tenant_scope(request):
        connection = get_for_tenant_or_404(Connection.objects.all(), id=connection_id)
        connector = get_for_tenant_or_404(Connector.objects.all(), id=connection.connector_id)
    flash_connection_test(
        request,
        **writes(request),
        connection=connection,
        connector=connector,
        enter=lambda: tenant_scope(request),
    )
    return to_page(request, "connection_detail", connection_id=connection.id)


@require_POST
@permission_required("connections.delete")
def connection_disconnect(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, connection_id: uuid.UUID
) -> HttpResponse:
    connection = get_for_tenant_or_404(Connection.objects.all(), id=connection_id)
    attempt(
        request,
        lambda: services.connection_disconnect(**writes(request), connection=connection),
        f"{connection.name} disconnected; its credentials are deleted.",
    )
    return to_page(request, "connection_detail", connection_id=connection.id)


@permission_required("connections.delete")
def connection_delete(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, connection_id: uuid.UUID
) -> HttpResponse:
    connection = get_for_tenant_or_404(Connection.objects.all(), id=connection_id)
    return confirm_page(
        request,
        lambda: services.connection_remove(**writes(request), connection=connection),
        f"{connection.name} deleted with its credentials.",
        "connections",
        title=f"Delete {connection.name}?",
        body="The connection and its stored credentials are deleted. Past executions "
        "stay in the log.",
        button="Delete connection",
    )


@permission_required("connections.share")
def connection_share(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    """Issue a connect link: the customer's widget, End User role, valid for 8 hours."""
    link = None
    if request.method == "POST":
        data = writes(request)
        try:
            token = embed_token_issue(**data, kind=tokens.CONNECT_LINK)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            path = connect_link_path(
                organization=data["organization"], customer=data["customer"], token=token
            )
            link = request.build_absolute_uri(path)
    return render(request, "dataplane/connection_share.html", page_context(request, link=link))


# OAuth 2.0 --------------------------------------------------------------------------------


def oauth_redirect_uri(request: HttpRequest) -> str:
    """The one callback URL to register with every provider (console and widget alike)."""
    return request.build_absolute_uri(reverse("oauth_callback"))


def _oauth_connect_page(
    request: HttpRequest, connector: Connector, connection: Connection | None = None
) -> HttpResponse:
    """Connect (or reconnect ``connection``) through the provider: a POST goes there."""
    form = CredentialsForm(
        request.POST or None,
        fields=[],
        name_initial=connection.name if connection else connector.name,
    )

    def save() -> HttpResponse:
        return redirect(
            oauth.oauth_connect_start(
                **writes(request),
                connector=connector,
                connection=connection,
                principal=f"user:{request.user.pk}",
                surface=oauth.CONSOLE,
                redirect_uri=oauth_redirect_uri(request),
                name=form.cleaned_data["name"],
            )
        )

    return _connection_form_page(request, form, save, connector, connection, oauth=True)


def oauth_failed(request: HttpRequest, message: str, **extra: object) -> HttpResponse:
    return render(request, "dataplane/oauth_failed.html", {"message": message, **extra}, status=400)


@login_not_required
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """``/oauth/callback/``: forward the provider's answer to the callback page of the surface
    and customer its state names (nothing is checked or taken here but the signature)."""
    try:
        surface, org_slug, customer_id = oauth.oauth_state_target(request.GET.get("state", ""))
    except oauth.OAuthRefused as exc:
        return oauth_failed(request, exc.message)
    name = (
        "widget:oauth_callback"
        if surface == oauth.WIDGET
        else "dataplane:connection_oauth_callback"
    )
    target = reverse(name, kwargs={"org_slug": org_slug, "customer_id": customer_id})
    response = redirect(f"{target}?{request.GET.urlencode()}")
    if surface == oauth.WIDGET:  # keeps the widget's popup tied to its frame (widget/pages.py)
        response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response


@outside_request_transaction
def connection_oauth_callback(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID
) -> HttpResponse:
    """The provider's answer for this customer: check the state, exchange the code, store.
    ``connections.create`` (``connections.update`` for a reconnect) is checked once the state
    says which."""
    tenant = tenant_of(request)
    with tenant_scope(request):
        data = writes(request)
    try:
        connection = oauth.oauth_callback_complete(
            **data,
            principal=f"user:{request.user.pk}",
            query=request.GET.dict(),
            authorize=tenant.authorize,
            enter=lambda: tenant_scope(request),
        )
    except oauth.OAuthRefused as exc:
        with tenant_scope(request):
            return oauth_failed(request, exc.message, **page_context(request))
    messages.success(request, f"Connected to {connection.name}.")
    return to_page(request, "connection_detail", connection_id=connection.id)
