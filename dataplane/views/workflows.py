"""A customer's workflows: add one of the organization's definitions, choose its connections,
enable or disable it, run it in test or prod, remove it; and the executions a run leaves, a
failed one replayed. Definitions, versions and deploys are the organization's (``build``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from build.models import Connector
from dataplane import services
from dataplane.forms import WorkflowAddForm, WorkflowConnectionsForm
from dataplane.models import Connection, ExecutionLog, RunEnvironment, Workflow
from dataplane.selectors import addable_definitions
from dataplane.services.runs import execution_replayable, workflow_replay
from dataplane.views.pages import (
    attempt,
    confirm_page,
    form_page,
    page_context,
    page_customer,
    to_page,
    writes,
)
from fastn_console.console import get_for_tenant_or_404, permission_required, tenant_of


def _get_workflow_for_user(request: HttpRequest, workflow_id: uuid.UUID) -> Workflow:
    """The customer's workflow (404 when it is not this customer's)."""
    return get_for_tenant_or_404(Workflow.objects.all(), id=workflow_id)


@permission_required("workflows.create")
def workflow_create(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    """Add one of the organization's workflows to the customer: the list of those it has not
    added yet, each with an Add button."""
    if request.method == "POST":
        form = WorkflowAddForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose one of the organization's workflows.")
        else:
            definition = form.cleaned_data["definition"]
            try:
                workflow = services.workflow_add(**writes(request), definition=definition)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, f"{definition.name} added and enabled.")
                return to_page(request, "workflow_detail", workflow_id=workflow.id)
    added = Workflow.objects.values_list("definition_id", flat=True)
    search = request.GET.get("q", "").strip()
    definitions = addable_definitions(added=added)
    if search:
        definitions = definitions.filter(name__icontains=search)
    page = Paginator(definitions, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "dataplane/workflow_add.html",
        page_context(request, page=page, search=search),
    )


@permission_required("workflows.read")
def workflow_detail(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    workflow = _get_workflow_for_user(request, workflow_id)
    tenant = tenant_of(request)
    executions = None
    if tenant.can("executions.read"):
        executions = ExecutionLog.objects.filter(workflow=workflow)[:10]
    definition = workflow.definition
    connectors = {
        c.slug: c for c in Connector.objects.filter(slug__in=definition.connector_slugs())
    }
    chosen = list(workflow.connections.values())
    connections = {str(c.id): c for c in Connection.objects.filter(id__in=chosen)}
    uses = [
        (slug, connectors.get(slug), connections.get(workflow.connections.get(slug, "")))
        for slug in definition.connector_slugs()
    ]
    return render(
        request,
        "dataplane/workflow_detail.html",
        page_context(
            request,
            workflow=workflow,
            definition=definition,
            uses=uses,
            steps=json.dumps(definition.definition, indent=2),
            executions=executions,
        ),
    )


@permission_required("workflows.update")
def workflow_edit(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    """Choose the customer's connection for each connector the workflow's steps name."""
    workflow = _get_workflow_for_user(request, workflow_id)
    connectors = list(
        Connector.objects.filter(slug__in=workflow.definition.connector_slugs()).order_by("name")
    )
    form = WorkflowConnectionsForm(
        request.POST or None,
        connectors=connectors,
        connections=list(Connection.objects.order_by("name", "id")),
        chosen=workflow.connections,
    )

    def save() -> HttpResponse:
        if services.workflow_configure(
            **writes(request), workflow=workflow, connections=form.connections()
        ):
            messages.success(request, f"Connections of {workflow.name} saved.")
        else:
            messages.info(request, "Nothing changed.")
        return to_page(request, "workflow_detail", workflow_id=workflow.id)

    return form_page(request, form, "dataplane/workflow_form.html", save, workflow=workflow)


@require_POST
@permission_required("workflows.update")
def workflow_toggle(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    workflow = _get_workflow_for_user(request, workflow_id)
    enabled = request.POST.get("enabled") == "1"
    attempt(
        request,
        lambda: services.workflow_set_enabled(
            **writes(request), workflow=workflow, enabled=enabled
        ),
        f"{workflow.name} {'enabled' if enabled else 'disabled'}.",
    )
    return to_page(request, "workflow_detail", workflow_id=workflow.id)


@require_POST
@permission_required("workflows.execute")
def workflow_run(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    """Run now: the version deployed to test (the default) or, with ``environment=prod``, to
    prod."""
    workflow = _get_workflow_for_user(request, workflow_id)
    environment = request.POST.get("environment") or RunEnvironment.TEST
    if environment not in RunEnvironment.values:
        messages.error(request, "Choose test or prod to run in.")
        return to_page(request, "workflow_detail", workflow_id=workflow.id)
    return _queued(
        request,
        lambda: services.workflow_run(
            **writes(request), workflow=workflow, environment=environment
        ),
        back=("workflow_detail", {"workflow_id": workflow.id}),
    )


def _queued(
    request: HttpRequest, run: Callable[[], ExecutionLog], *, back: tuple[str, dict[str, Any]]
) -> HttpResponse:
    """Queue a run: to its execution's page, or back to ``back`` with the refusal."""
    try:
        execution = run()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return to_page(request, back[0], **back[1])
    messages.success(
        request,
        f"Run queued: version {execution.version} in {execution.environment}.",
    )
    return to_page(request, "execution_detail", execution_id=execution.id)


@require_POST
@permission_required("workflows.execute")
def execution_replay(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, execution_id: uuid.UUID
) -> HttpResponse:
    """Replay a failed run: its workflow version again, in its environment."""
    execution = get_for_tenant_or_404(ExecutionLog.objects.all(), id=execution_id)
    return _queued(
        request,
        lambda: workflow_replay(**writes(request), execution=execution),
        back=("execution_detail", {"execution_id": execution.id}),
    )


@permission_required("workflows.delete")
def workflow_delete(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    workflow = _get_workflow_for_user(request, workflow_id)
    return confirm_page(
        request,
        lambda: services.workflow_remove(**writes(request), workflow=workflow),
        f"{workflow.name} removed from {page_customer(request).name}.",
        "workflows",
        title=f"Remove {workflow.name}?",
        body="The workflow stops running for this customer; the organization's definition "
        "and past executions stay.",
        button="Remove workflow",
    )


@permission_required("executions.read")
def execution_detail(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, execution_id: uuid.UUID
) -> HttpResponse:
    execution = get_for_tenant_or_404(
        ExecutionLog.objects.select_related("workflow", "replay_of"), id=execution_id
    )
    return render(
        request,
        "dataplane/execution_detail.html",
        page_context(
            request,
            execution=execution,
            replays=list(execution.replays.order_by("-created_at")[:20]),
            replayable=execution_replayable(execution),
        ),
    )
