"""Workflows: create, edit (a new version each time), enable, deploy, run in test or prod,
delete; and the executions a run leaves, a failed one replayed."""

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

from customers.models import OrganizationStatus
from dataplane import services
from dataplane.forms import EnvironmentVersionForm, WorkflowForm
from dataplane.models import Connection, ExecutionLog, RunEnvironment, Workflow
from dataplane.services.runs import execution_replayable, workflow_replay
from dataplane.views.pages import (
    attempt,
    confirm_page,
    form_page,
    page_context,
    to_page,
    to_tab,
    writes,
)
from fastn_console.console import get_for_tenant_or_404, permission_required, tenant_of


def _workflow_form_page(
    request: HttpRequest, form: WorkflowForm, save: Callable[[], HttpResponse], **extra: Any
) -> HttpResponse:
    """The workflow form, beside the connections its steps may use."""
    connections = Connection.objects.all()
    return form_page(
        request, form, "dataplane/workflow_form.html", save, connections=connections, **extra
    )


@permission_required("workflows.create")
def workflow_create(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    example = {"steps": [{"name": "notify", "url": "https://", "method": "POST"}]}
    form = WorkflowForm(request.POST or None, initial={"definition": example})

    def save() -> HttpResponse:
        workflow = services.workflow_add(**writes(request), **form.cleaned_data)
        messages.success(request, f"Workflow {workflow.name} created as version 1.")
        return to_page(request, "workflow_detail", workflow_id=workflow.id)

    return _workflow_form_page(request, form, save)


@permission_required("workflows.read")
def workflow_detail(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    workflow = get_for_tenant_or_404(Workflow.objects.all(), id=workflow_id)
    tenant = tenant_of(request)
    versions = Paginator(workflow.versions.order_by("-number"), 20).get_page(
        request.GET.get("page")
    )
    executions = None
    if tenant.can("executions.read"):
        executions = ExecutionLog.objects.filter(workflow=workflow)[:10]
    return render(
        request,
        "dataplane/workflow_detail.html",
        page_context(
            request,
            workflow=workflow,
            page=versions,
            definition=json.dumps(workflow.definition, indent=2),
            executions=executions,
            provisional=tenant.organization.status == OrganizationStatus.PROVISIONAL,
        ),
    )


@permission_required("workflows.read")
def workflow_version(
    request: HttpRequest,
    org_slug: str,
    customer_id: uuid.UUID,
    workflow_id: uuid.UUID,
    number: int,
) -> HttpResponse:
    workflow = get_for_tenant_or_404(Workflow.objects.all(), id=workflow_id)
    version = get_for_tenant_or_404(workflow.versions.all(), number=number)
    return render(
        request,
        "dataplane/workflow_version.html",
        page_context(
            request,
            workflow=workflow,
            version=version,
            definition=json.dumps(version.definition, indent=2),
        ),
    )


@permission_required("workflows.update")
def workflow_edit(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    workflow = get_for_tenant_or_404(Workflow.objects.all(), id=workflow_id)
    current = {field: getattr(workflow, field) for field in ("name", "description", "definition")}
    form = WorkflowForm(request.POST or None, initial=current)

    def save() -> HttpResponse:
        if services.workflow_update(**writes(request), workflow=workflow, **form.cleaned_data):
            messages.success(request, f"Saved as version {workflow.current_version}.")
        else:
            messages.info(request, "Nothing changed; no new version was made.")
        return to_page(request, "workflow_detail", workflow_id=workflow.id)

    return _workflow_form_page(request, form, save, workflow=workflow)


@require_POST
@permission_required("workflows.update")
def workflow_toggle(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    workflow = get_for_tenant_or_404(Workflow.objects.all(), id=workflow_id)
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
def workflow_deploy(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    tenant = tenant_of(request)
    form = EnvironmentVersionForm(request.POST)
    if not form.is_valid():
        tenant.authorize("workflows.read")
        messages.error(request, "Choose an environment and a version.")
        return to_tab(request, "workflows")
    environment, number = form.cleaned_data["environment"], form.cleaned_data["number"]
    tenant.authorize(f"workflows.deploy_{environment}")
    workflow = get_for_tenant_or_404(Workflow.objects.all(), id=workflow_id)
    attempt(
        request,
        lambda: services.workflow_deploy(
            **writes(request), workflow=workflow, environment=environment, number=number
        ),
        f"Version {number} is live in {environment}.",
    )
    return to_page(request, "workflow_detail", workflow_id=workflow.id)


@require_POST
@permission_required("workflows.execute")
def workflow_run(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, workflow_id: uuid.UUID
) -> HttpResponse:
    """Run now: the version deployed to test (the default) or, with ``environment=prod``, to
    prod."""
    workflow = get_for_tenant_or_404(Workflow.objects.all(), id=workflow_id)
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
    workflow = get_for_tenant_or_404(Workflow.objects.all(), id=workflow_id)
    return confirm_page(
        request,
        lambda: services.workflow_delete(**writes(request), workflow=workflow),
        f"Workflow {workflow.name} deleted.",
        "workflows",
        title=f"Delete {workflow.name}?",
        body=f"The workflow and its {workflow.current_version} version(s) are deleted. "
        "Past executions stay in the log.",
        button="Delete workflow",
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
