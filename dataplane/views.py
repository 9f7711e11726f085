"""A customer's connections, workflows and configuration (console, under the customer pages).

The middleware has entered the customer's context (``request.tenant.customer``), so the scoped
managers return this customer's rows only and a foreign id is a 404.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from build.models import Connector
from dataplane import selectors, services
from dataplane.encryption import CredentialsUnreadable
from dataplane.forms import (
    ConfigurationForm,
    ConfigurationSettingsForm,
    ConfigurationValueForm,
    CredentialsForm,
    EnvironmentVersionForm,
    WorkflowForm,
)
from dataplane.models import Configuration, Connection, ExecutionLog, Workflow
from roles.selectors import authorize, permissions_of
from widget import tokens
from widget.services import connect_link_path, embed_token_issue


def _authorize(request: HttpRequest, key: str) -> None:
    tenant = request.tenant  # type: ignore[attr-defined]
    authorize(tenant.membership, key, tenant.organization, tenant.customer)


def _common(request: HttpRequest) -> dict[str, Any]:
    tenant = request.tenant  # type: ignore[attr-defined]
    return {
        "org": tenant.organization,
        "customer": tenant.customer,
        "restricted": tenant.is_customer_restricted,
    }


def _writes(request: HttpRequest) -> dict[str, Any]:
    tenant = request.tenant  # type: ignore[attr-defined]
    return {
        "acting_user": request.user,
        "organization": tenant.organization,
        "customer": tenant.customer,
    }


def _tab(request: HttpRequest, tab: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    return redirect(
        "customers:customer_tab",
        org_slug=tenant.organization.slug,
        customer_id=tenant.customer.id,
        tab=tab,
    )


def _error(request: HttpRequest, exc: Exception) -> None:
    messages.error(request, " ".join(getattr(exc, "messages", None) or [str(exc)]))


def _get_connection_for_request(request: HttpRequest, connection_id: uuid.UUID) -> Connection:
    return get_object_or_404(Connection.objects.all(), id=connection_id)


def _get_workflow_for_request(request: HttpRequest, workflow_id: uuid.UUID) -> Workflow:
    return get_object_or_404(Workflow.objects.all(), id=workflow_id)


def _get_configuration_for_request(request: HttpRequest, config_id: uuid.UUID) -> Configuration:
    configurations = Configuration.objects.all()
    if request.tenant.is_customer_restricted:  # type: ignore[attr-defined]
        configurations = configurations.filter(end_user_editable=True)
    return get_object_or_404(configurations, id=config_id)


def _get_execution_for_request(request: HttpRequest, execution_id: uuid.UUID) -> ExecutionLog:
    return get_object_or_404(ExecutionLog.objects.all(), id=execution_id)


# Connections


def connection_new(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    """Pick the connector to connect the customer to."""
    _authorize(request, "connections.create")
    search = request.GET.get("q", "")
    page = Paginator(selectors.connectable_connectors(search=search), 25).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "dataplane/connection_new.html",
        {**_common(request), "page": page, "search": search},
    )


def connection_create(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, connector_id: uuid.UUID
) -> HttpResponse:
    _authorize(request, "connections.create")
    connector = get_object_or_404(Connector.objects.all(), id=connector_id)
    fields = list(connector.credential_fields or [])
    form = CredentialsForm(request.POST or None, fields=fields, name_initial=connector.name)
    if request.method == "POST" and form.is_valid():
        try:
            connection = services.connection_connect(
                **_writes(request),
                connector=connector,
                name=form.cleaned_data["name"],
                credentials=form.credentials(),
                credential_fields=fields,
            )
        except ValidationError as exc:
            form.add_credential_errors(exc)
        else:
            messages.success(request, f"Connected to {connector.name}.")
            return redirect(
                "dataplane:connection_detail",
                org_slug=org_slug,
                customer_id=customer_id,
                connection_id=connection.id,
            )
    return render(
        request,
        "dataplane/connection_form.html",
        {**_common(request), "form": form, "connector": connector},
    )


def connection_detail(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, connection_id: uuid.UUID
) -> HttpResponse:
    _authorize(request, "connections.read")
    connection = _get_connection_for_request(request, connection_id)
    connector = Connector.objects.filter(id=connection.connector_id).first()
    try:
        masked = selectors.masked_credentials(connection=connection)
        unreadable = False
    except CredentialsUnreadable:
        masked, unreadable = [], True
    return render(
        request,
        "dataplane/connection_detail.html",
        {
            **_common(request),
            "connection": connection,
            "connector": connector,
            "masked": masked,
            "unreadable": unreadable,
            "executions": ExecutionLog.objects.filter(connection=connection)[:10],
        },
    )


def connection_edit(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, connection_id: uuid.UUID
) -> HttpResponse:
    _authorize(request, "connections.update")
    connection = _get_connection_for_request(request, connection_id)
    connector = get_object_or_404(Connector.objects.all(), id=connection.connector_id)
    form = CredentialsForm(
        request.POST or None,
        fields=list(connector.credential_fields or []),
        name_initial=connection.name,
        optional=bool(connection.credentials),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.connection_update(
                **_writes(request),
                connection=connection,
                connector=connector,
                name=form.cleaned_data["name"],
                credentials=form.credentials(),
            )
        except (ValidationError, CredentialsUnreadable) as exc:
            form.add_credential_errors(exc)
        else:
            messages.success(request, f"{connection.name} saved.")
            return redirect(
                "dataplane:connection_detail",
                org_slug=org_slug,
                customer_id=customer_id,
                connection_id=connection.id,
            )
    return render(
        request,
        "dataplane/connection_form.html",
        {**_common(request), "form": form, "connector": connector, "connection": connection},
    )


@require_POST
def connection_test(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, connection_id: uuid.UUID
) -> HttpResponse:
    _authorize(request, "connections.execute")
    connection = _get_connection_for_request(request, connection_id)
    connector = get_object_or_404(Connector.objects.all(), id=connection.connector_id)
    try:
        outcome = services.connection_test(
            **_writes(request), connection=connection, connector=connector
        )
    except (ValidationError, CredentialsUnreadable) as exc:
        _error(request, exc)
    else:
        level = messages.SUCCESS if outcome.status == "active" else messages.ERROR
        messages.add_message(request, level, f"{connection.name}: {outcome.message}")
    return redirect(
        "dataplane:connection_detail",
        org_slug=org_slug,
        customer_id=customer_id,
        connection_id=connection.id,
    )


@require_POST
def connection_disconnect(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, connection_id: uuid.UUID
) -> HttpResponse:
    _authorize(request, "connections.delete")
    connection = _get_connection_for_request(request, connection_id)
    try:
        services.connection_disconnect(**_writes(request), connection=connection)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"{connection.name} disconnected; its credentials are deleted.")
    return redirect(
        "dataplane:connection_detail",
        org_slug=org_slug,
        customer_id=customer_id,
        connection_id=connection.id,
    )


def connection_delete(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, connection_id: uuid.UUID
) -> HttpResponse:
    _authorize(request, "connections.delete")
    connection = _get_connection_for_request(request, connection_id)
    if request.method == "POST":
        try:
            services.connection_remove(**_writes(request), connection=connection)
        except ValidationError as exc:
            _error(request, exc)
        else:
            messages.success(request, f"{connection.name} deleted with its credentials.")
            return _tab(request, "connections")
    return render(
        request,
        "dataplane/confirm.html",
        {
            **_common(request),
            "title": f"Delete {connection.name}?",
            "body": "The connection and its stored credentials are deleted. Past executions "
            "stay in the log.",
            "button": "Delete connection",
        },
    )


def connection_share(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    """Issue a connect link: the customer's widget, End User role, valid for 8 hours."""
    _authorize(request, "connections.share")
    link = None
    if request.method == "POST":
        tenant = request.tenant  # type: ignore[attr-defined]
        try:
            token = embed_token_issue(
                acting_user=request.user,
                organization=tenant.organization,
                customer=tenant.customer,
                kind=tokens.CONNECT_LINK,
            )
        except ValidationError as exc:
            _error(request, exc)
        else:
            link = request.build_absolute_uri(
                connect_link_path(
                    organization=tenant.organization, customer=tenant.customer, token=token
                )
            )
    return render(request, "dataplane/connection_share.html", {**_common(request), "link": link})


# Workflows


def workflow_create(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    _authorize(request, "workflows.create")
    form = WorkflowForm(
        request.POST or None,
        initial={
            "definition": {"steps": [{"name": "notify", "url": "https://", "method": "POST"}]}
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            workflow = services.workflow_add(**_writes(request), **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Workflow {workflow.name} created as version 1.")
            return redirect(
                "dataplane:workflow_detail",
                org_slug=org_slug,
                customer_id=customer_id,
                workflow_id=workflow.id,
            )
    return render(
        request,
        "dataplane/workflow_form.html",
        {**_common(request), "form": form, "connections": Connection.objects.all()},
    )


def workflow_detail(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    _authorize(request, "workflows.read")
    workflow = _get_workflow_for_request(request, workflow_id)
    keys = permissions_of(request.tenant.membership)  # type: ignore[attr-defined]
    versions = Paginator(workflow.versions.order_by("-number"), 20).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "dataplane/workflow_detail.html",
        {
            **_common(request),
            "workflow": workflow,
            "page": versions,
            "definition": json.dumps(workflow.definition, indent=2),
            "executions": (
                ExecutionLog.objects.filter(workflow=workflow)[:10]
                if "executions.read" in keys
                else None
            ),
            "provisional": request.tenant.organization.status == "provisional",  # type: ignore[attr-defined]
        },
    )


def workflow_version(
    request: HttpRequest,
    org_slug: str,
    customer_id: uuid.UUID,
    workflow_id: uuid.UUID,
    number: int,
) -> HttpResponse:
    _authorize(request, "workflows.read")
    workflow = _get_workflow_for_request(request, workflow_id)
    version = get_object_or_404(workflow.versions.all(), number=number)
    return render(
        request,
        "dataplane/workflow_version.html",
        {
            **_common(request),
            "workflow": workflow,
            "version": version,
            "definition": json.dumps(version.definition, indent=2),
        },
    )


def workflow_edit(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    _authorize(request, "workflows.update")
    workflow = _get_workflow_for_request(request, workflow_id)
    form = WorkflowForm(
        request.POST or None,
        initial={
            "name": workflow.name,
            "description": workflow.description,
            "definition": workflow.definition,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.workflow_update(
                **_writes(request), workflow=workflow, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if changed:
                messages.success(request, f"Saved as version {workflow.current_version}.")
            else:
                messages.info(request, "Nothing changed; no new version was made.")
            return redirect(
                "dataplane:workflow_detail",
                org_slug=org_slug,
                customer_id=customer_id,
                workflow_id=workflow.id,
            )
    return render(
        request,
        "dataplane/workflow_form.html",
        {
            **_common(request),
            "form": form,
            "workflow": workflow,
            "connections": Connection.objects.all(),
        },
    )


def _to_workflow(org_slug: str, customer_id: uuid.UUID, workflow: Workflow) -> HttpResponse:
    return redirect(
        "dataplane:workflow_detail",
        org_slug=org_slug,
        customer_id=customer_id,
        workflow_id=workflow.id,
    )


@require_POST
def workflow_toggle(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    _authorize(request, "workflows.update")
    workflow = _get_workflow_for_request(request, workflow_id)
    enabled = request.POST.get("enabled") == "1"
    try:
        services.workflow_set_enabled(**_writes(request), workflow=workflow, enabled=enabled)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"{workflow.name} {'enabled' if enabled else 'disabled'}.")
    return _to_workflow(org_slug, customer_id, workflow)


@require_POST
def workflow_deploy(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    form = EnvironmentVersionForm(request.POST)
    if not form.is_valid():
        _authorize(request, "workflows.read")
        messages.error(request, "Choose an environment and a version.")
        return _tab(request, "workflows")
    environment, number = form.cleaned_data["environment"], form.cleaned_data["number"]
    _authorize(request, f"workflows.deploy_{environment}")
    workflow = _get_workflow_for_request(request, workflow_id)
    try:
        services.workflow_deploy(
            **_writes(request), workflow=workflow, environment=environment, number=number
        )
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"Version {number} is live in {environment}.")
    return _to_workflow(org_slug, customer_id, workflow)


@require_POST
def workflow_run(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    _authorize(request, "workflows.execute")
    workflow = _get_workflow_for_request(request, workflow_id)
    try:
        execution = services.workflow_run(**_writes(request), workflow=workflow)
    except ValidationError as exc:
        _error(request, exc)
        return _to_workflow(org_slug, customer_id, workflow)
    messages.success(request, f"Run of {workflow.name} queued.")
    return redirect(
        "dataplane:execution_detail",
        org_slug=org_slug,
        customer_id=customer_id,
        execution_id=execution.id,
    )


def workflow_delete(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    _authorize(request, "workflows.delete")
    workflow = _get_workflow_for_request(request, workflow_id)
    if request.method == "POST":
        try:
            services.workflow_delete(**_writes(request), workflow=workflow)
        except ValidationError as exc:
            _error(request, exc)
        else:
            messages.success(request, f"Workflow {workflow.name} deleted.")
            return _tab(request, "workflows")
    return render(
        request,
        "dataplane/confirm.html",
        {
            **_common(request),
            "title": f"Delete {workflow.name}?",
            "body": f"The workflow and its {workflow.current_version} version(s) are deleted. "
            "Past executions stay in the log.",
            "button": "Delete workflow",
        },
    )


def execution_detail(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, execution_id: uuid.UUID
) -> HttpResponse:
    _authorize(request, "executions.read")
    execution = _get_execution_for_request(request, execution_id)
    return render(
        request, "dataplane/execution_detail.html", {**_common(request), "execution": execution}
    )


# Configuration


def configuration_create(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID
) -> HttpResponse:
    _authorize(request, "connections.update")
    if request.tenant.is_customer_restricted:  # type: ignore[attr-defined]
        raise PermissionDenied("End users edit existing end-user-editable values only.")
    form = ConfigurationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.configuration_add(**_writes(request), **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{form.cleaned_data['key']} added.")
            return _tab(request, "configuration")
    return render(
        request,
        "dataplane/configuration_form.html",
        {**_common(request), "form": form, "title": "Add configuration"},
    )


def configuration_edit(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, config_id: uuid.UUID
) -> HttpResponse:
    _authorize(request, "connections.update")
    configuration = _get_configuration_for_request(request, config_id)
    restricted = request.tenant.is_customer_restricted  # type: ignore[attr-defined]
    form_class = ConfigurationValueForm if restricted else ConfigurationSettingsForm
    form = form_class(request.POST or None, configuration=configuration)
    if request.method == "POST" and form.is_valid():
        flags = (
            {}
            if restricted
            else {
                "is_secret": form.cleaned_data["is_secret"],
                "end_user_editable": form.cleaned_data["end_user_editable"],
            }
        )
        try:
            services.configuration_update(
                **_writes(request),
                configuration=configuration,
                value=form.new_value(),
                restricted=restricted,
                **flags,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{configuration.key} saved.")
            return _tab(request, "configuration")
    return render(
        request,
        "dataplane/configuration_form.html",
        {
            **_common(request),
            "form": form,
            "configuration": configuration,
            "title": f"Edit {configuration.key}",
        },
    )


@require_POST
def configuration_delete(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, config_id: uuid.UUID
) -> HttpResponse:
    _authorize(request, "connections.update")
    if request.tenant.is_customer_restricted:  # type: ignore[attr-defined]
        raise PermissionDenied("End users cannot delete configuration.")
    configuration = _get_configuration_for_request(request, config_id)
    try:
        services.configuration_delete(**_writes(request), configuration=configuration)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"{configuration.key} deleted.")
    return _tab(request, "configuration")
