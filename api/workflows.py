"""The workflow operations of the JSON API (SPEC §11), on a router of their own that
``api.endpoints`` mounts next to ``api.operations``'.

The organization defines workflows once (``GET /workflow-definitions`` lists them, deployed
versions and all); a customer has the ones added to it (``GET /workflows``), which a partner's
backend adds (``POST /workflows`` with the definition's id and, optionally, the customer's
connection per connector slug) and removes (``DELETE /workflows/{id}``) as it provisions its
customers, and runs (``POST /workflows/{id}/run``, the version deployed to ``x-fastn-env``).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from api.auth import ApiError, api_scope
from api.operations import (
    ERRORS,
    _authorize,
    _customer_data,
    _found,
    _page,
    request_environment,
)
from api.schemas import ExecutionOut, Page, Paging, WorkflowDefinitionOut, WorkflowIn, WorkflowOut
from build.models import WorkflowDefinition
from dataplane import services as dataplane
from dataplane.models import Workflow
from dataplane.selectors import workflows_with_definitions

router = Router()
router.add_decorator(api_scope, mode="view")


def _get_workflow_for_request(request: HttpRequest, workflow_id: uuid.UUID) -> Workflow:
    return _found(Workflow.objects.filter(id=workflow_id).first(), "workflow")


@router.get(
    "/workflow-definitions",
    response={200: Page[WorkflowDefinitionOut], **ERRORS},
    tags=["workflows"],
)
def workflow_definitions_list(
    request: HttpRequest,
    paging: Query[Paging],
) -> dict[str, Any]:
    """The organization's workflows: what customers can have added."""
    _authorize(request, "workflows.read")
    return _page(WorkflowDefinition.objects.order_by("name", "id"), paging)


@router.get("/workflows", response={200: Page[WorkflowOut], **ERRORS}, tags=["workflows"])
def workflows_list(
    request: HttpRequest,
    paging: Query[Paging],
) -> dict[str, Any]:
    """The customer's workflows (the organization's definitions added to it)."""
    _customer_data(request, "workflows.read")
    page = _page(Workflow.objects.order_by("created_at", "id"), paging)
    page["items"] = workflows_with_definitions(page["items"])
    return page


@router.post("/workflows", response={201: WorkflowOut, **ERRORS}, tags=["workflows"])
def workflows_add(request: HttpRequest, payload: WorkflowIn) -> Status:
    """Add one of the organization's workflows to the customer, enabled; ``connections`` names
    the customer's connection per connector slug (unset: its only one). A workflow the customer
    has already is a 409 ``already_added``."""
    api, customer = _customer_data(request, "workflows.create")
    definition = WorkflowDefinition.objects.filter(id=payload.definition_id).first()
    if definition is None:
        raise ApiError(404, "not_found", "No such workflow in this organization.")
    workflow = dataplane.workflow_add(
        acting_user=api.principal,
        organization=api.organization,
        customer=customer,
        definition=definition,
        connections=payload.connections,
    )
    return Status(201, workflow)


@router.delete("/workflows/{workflow_id}", response={204: None, **ERRORS}, tags=["workflows"])
def workflows_remove(request: HttpRequest, workflow_id: uuid.UUID) -> Status:
    """Remove the workflow from the customer (the definition and past executions stay)."""
    api, customer = _customer_data(request, "workflows.delete")
    dataplane.workflow_remove(
        acting_user=api.principal,
        organization=api.organization,
        customer=customer,
        workflow=_get_workflow_for_request(request, workflow_id),
    )
    return Status(204, None)


@router.post(
    "/workflows/{workflow_id}/run", response={202: ExecutionOut, **ERRORS}, tags=["workflows"]
)
def workflows_run(request: HttpRequest, workflow_id: uuid.UUID) -> Status:
    """Queue a run of the version deployed to prod, or to test with ``x-fastn-env: test``;
    follow it in ``GET /executions``."""
    environment = request_environment(request)
    api, customer = _customer_data(request, "workflows.execute")
    workflow = _get_workflow_for_request(request, workflow_id)
    execution = dataplane.workflow_run(
        acting_user=api.principal,
        organization=api.organization,
        customer=customer,
        workflow=workflow,
        environment=environment,
    )
    return Status(202, execution)
