"""Workflows: versioned definitions of HTTP steps, deployed to test and prod."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError

from audit import actions
from billing.services import count_limit_guard
from build.deploys import ENVIRONMENTS, live_version_move
from customers.models import Customer, Organization
from customers.states import organization_require_deployable
from dataplane.definitions import validate_workflow_definition
from dataplane.models import Workflow, WorkflowVersion
from dataplane.selectors import step_connections
from dataplane.services.primitives import audit_data_plane, require_writable_customer_scope


def _clean_workflow(
    name: str, definition: Any, *, exclude_id: uuid.UUID | None = None
) -> tuple[str, dict[str, Any]]:
    name = (name or "").strip()
    errors: dict[str, Any] = {}
    if not name:
        errors["name"] = "Enter a name."
    elif Workflow.objects.filter(name=name).exclude(id=exclude_id or uuid.uuid4()).exists():
        errors["name"] = "Another workflow of this customer has this name."
    try:
        connectors = {key: connector for key, (_, connector) in step_connections().items()}
        definition = validate_workflow_definition(definition, connectors=connectors)
    except ValidationError as exc:
        errors["definition"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return name, definition


def _version_add(workflow: Workflow, definition: dict[str, Any]) -> None:
    WorkflowVersion.objects.create(
        org_id=workflow.org_id,
        customer_id=workflow.customer_id,
        workflow=workflow,
        number=workflow.current_version,
        definition=definition,
    )


def workflow_add(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    name: str,
    definition: Any,
    description: str = "",
) -> Workflow:
    require_writable_customer_scope(organization=organization, customer=customer)
    name, definition = _clean_workflow(name, definition)
    count_limit_guard(organization=organization, key="workflows_per_customer", customer=customer)
    workflow = Workflow.objects.create(
        org_id=organization.id,
        customer_id=customer.id,
        name=name,
        description=description.strip(),
        definition=definition,
        current_version=1,
    )
    _version_add(workflow, definition)
    audit_data_plane(
        acting_user,
        actions.WORKFLOW_CREATE,
        workflow,
        customer,
        after={"version": 1, "steps": len(definition["steps"])},
    )
    return workflow


def workflow_update(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    workflow: Workflow,
    name: str,
    definition: Any,
    description: str = "",
) -> bool:
    """Save as a new version; False (nothing written) when nothing changed."""
    require_writable_customer_scope(organization=organization, customer=customer)
    name, definition = _clean_workflow(name, definition, exclude_id=workflow.id)
    description = description.strip()
    values = {"name": name, "description": description, "definition": definition}
    if all(getattr(workflow, field) == value for field, value in values.items()):
        return False
    locked = Workflow.objects.select_for_update().get(id=workflow.id)
    changed = [field for field, value in values.items() if getattr(locked, field) != value]
    locked.name, locked.description, locked.definition = name, description, definition
    locked.current_version += 1
    locked.save(update_fields=["name", "description", "definition", "current_version"])
    _version_add(locked, definition)
    audit_data_plane(
        acting_user,
        actions.WORKFLOW_UPDATE,
        workflow,
        customer,
        before={"version": locked.current_version - 1},
        after={"version": locked.current_version, "fields": changed},
    )
    workflow.refresh_from_db()
    return True


def workflow_set_enabled(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    workflow: Workflow,
    enabled: bool,
) -> None:
    require_writable_customer_scope(organization=organization, customer=customer)
    if workflow.enabled == enabled:
        return
    workflow.enabled = enabled
    workflow.save(update_fields=["enabled"])
    action = actions.WORKFLOW_ENABLE if enabled else actions.WORKFLOW_DISABLE
    audit_data_plane(acting_user, action, workflow, customer)


def workflow_deploy(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    workflow: Workflow,
    environment: str,
    number: int,
) -> None:
    """Make version ``number`` live in ``environment``; a lower prod number is a rollback."""
    if environment not in ENVIRONMENTS:
        raise ValueError("environment is test or prod")
    require_writable_customer_scope(organization=organization, customer=customer)
    organization_require_deployable(organization=organization, environment=environment)
    if not WorkflowVersion.objects.filter(workflow=workflow, number=number).exists():
        raise ValidationError(f"Workflow {workflow.name} has no version {number}.")
    move = live_version_move(
        Workflow.objects.all(), workflow, environment=environment, number=number
    )
    if move is None:
        return
    audit_data_plane(
        acting_user,
        actions.deploy_action("workflow", environment, rollback=move.rollback),
        workflow,
        customer,
        before={move.field: move.previous},
        after={move.field: number},
    )
    workflow.refresh_from_db()


def workflow_delete(
    *, acting_user: Any, organization: Organization, customer: Customer, workflow: Workflow
) -> None:
    require_writable_customer_scope(organization=organization, customer=customer)
    audit_data_plane(
        acting_user,
        actions.WORKFLOW_DELETE,
        workflow,
        customer,
        before={"version": workflow.current_version},
    )
    workflow.delete()
