"""A customer's workflows: the organization's workflow definitions (``build``, SPEC §11) that the
customer has added, each with the connection it uses for every connector the steps name.

What a workflow does — its steps, triggers, versions and deployments — is the definition's,
written organization-wide (``build.services`` with ``build.services.WORKFLOWS``). Adding one to
a customer, choosing its connections, enabling, disabling and removing it happen here, in the
customer's scope; the rows live in the customer's region under RLS.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError

from audit import actions
from billing.services import count_limit_guard
from build.models import Connector, WorkflowDefinition
from customers.models import Customer, Organization
from dataplane.models import Connection, Workflow
from dataplane.services.primitives import audit_data_plane, require_writable_customer_scope


def _clean_connections(definition: WorkflowDefinition, connections: Any) -> dict[str, str]:
    """``{connector slug: connection id}`` for the connectors ``definition``'s steps name, each
    a connection of the customer in scope made with that connector; blank choices dropped."""
    if not isinstance(connections, dict):
        raise ValidationError({"connections": "Choose a connection per connector."})
    chosen = {str(slug): str(value) for slug, value in connections.items() if value}
    named = set(definition.connector_slugs())
    errors = [
        f"{slug}: this workflow's steps name no such connector."
        for slug in chosen
        if slug not in named
    ]
    connectors = dict(Connector.objects.filter(slug__in=chosen).values_list("slug", "id"))
    found = {
        str(connection.id): connection
        for connection in Connection.objects.filter(id__in=_uuids(chosen.values()))
    }
    for slug, connection_id in sorted(chosen.items()):
        connection = found.get(connection_id)
        if slug not in named:
            continue
        if connection is None:
            errors.append(f"{slug}: not a connection of this customer.")
        elif connection.connector_id != connectors.get(slug):
            errors.append(f"{slug}: connection {connection.name} is made with another connector.")
    if errors:
        raise ValidationError({"connections": errors})
    return chosen


def _uuids(values: Any) -> list[str]:
    """The values that are UUIDs (anything else matches no connection)."""
    valid = []
    for value in values:
        try:
            valid.append(str(uuid.UUID(str(value))))
        except ValueError:
            continue
    return valid


def workflow_add(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    definition: WorkflowDefinition,
    connections: Any = None,
) -> Workflow:
    """Add the organization's workflow ``definition`` to ``customer`` (enabled)."""
    require_writable_customer_scope(organization=organization, customer=customer)
    if definition.org_id != organization.id:
        raise ValidationError({"definition": "Choose one of this organization's workflows."})
    if Workflow.objects.filter(definition_id=definition.id).exists():
        raise ValidationError(f"This customer already has {definition.name}.", code="already_added")
    chosen = _clean_connections(definition, connections or {})
    count_limit_guard(organization=organization, key="workflows_per_customer", customer=customer)
    workflow = Workflow.objects.create(
        org_id=organization.id, customer_id=customer.id, definition=definition, connections=chosen
    )
    audit_data_plane(
        acting_user,
        actions.WORKFLOW_ADD,
        workflow,
        customer,
        after={"definition": str(definition.id), "connections": chosen},
    )
    return workflow


def workflow_configure(
    *,
    acting_user: Any,
    organization: Organization,
    customer: Customer,
    workflow: Workflow,
    connections: Any,
) -> bool:
    """Choose the customer's connection per connector; False (nothing written) when unchanged."""
    require_writable_customer_scope(organization=organization, customer=customer)
    chosen = _clean_connections(workflow.definition, connections)
    if chosen == workflow.connections:
        return False
    before = dict(workflow.connections)
    workflow.connections = chosen
    workflow.save(update_fields=["connections"])
    audit_data_plane(
        acting_user,
        actions.WORKFLOW_CONFIGURE,
        workflow,
        customer,
        before={"connections": before},
        after={"connections": chosen},
    )
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


def workflow_remove(
    *, acting_user: Any, organization: Organization, customer: Customer, workflow: Workflow
) -> None:
    """Remove the workflow from the customer; the definition and past executions stay."""
    require_writable_customer_scope(organization=organization, customer=customer)
    audit_data_plane(
        acting_user,
        actions.WORKFLOW_REMOVE,
        workflow,
        customer,
        before={"definition": str(workflow.definition_id)},
    )
    workflow.delete()
