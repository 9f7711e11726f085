"""Each customer's own workflow becomes an organization's workflow definition that the customer
enables (SPEC §11): the definition takes the workflow's name, description, versions and
deployments; the workflow row stays as the enablement (its executions keep pointing at it).

A step's ``"connection": <id>`` becomes ``"connector": <that connection's connector's slug>``
and the enablement remembers the connection for that connector. A definition gets the
workflow's id, so running this again (after a failure on another database) rewrites the same
rows. Two customers' workflows of one name become two definitions, the second named with its
customer too.

Runs on each database holding the data plane (every region); the definitions go to the main
database, through its owner alias.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import migrations
from django.utils.text import slugify

MAIN_OWNER_ALIAS = "owner"
SLUG_MAX_LENGTH = 80


def _convert(
    definition: Any, connections: dict[str, Any], slugs: dict[Any, str], chosen: dict[str, str]
) -> dict[str, Any]:
    if not isinstance(definition, dict):
        return {"steps": []}
    converted = dict(definition)
    steps = []
    for step in definition.get("steps") or []:
        step = dict(step) if isinstance(step, dict) else step
        if isinstance(step, dict) and "connection" in step:
            connection_id = str(step.pop("connection"))
            connection = connections.get(connection_id)
            slug = slugs.get(connection.connector_id) if connection is not None else None
            if slug is None:
                # A connection or connector already gone: the step keeps failing, by name.
                slug = f"missing-connection-{connection_id[:8]}"
            else:
                chosen[slug] = connection_id
            step["connector"] = slug
        steps.append(step)
    converted["steps"] = steps
    return converted


def _unique(value: str, taken: set[str], limit: int) -> str:
    candidate, number = value[:limit], 2
    while candidate in taken:
        suffix = f"-{number}"
        candidate, number = f"{value[: limit - len(suffix)]}{suffix}", number + 1
    taken.add(candidate)
    return candidate


def forwards(apps: Any, schema_editor: Any) -> None:
    alias = schema_editor.connection.alias
    workflow_model = apps.get_model("dataplane", "Workflow")
    version_model = apps.get_model("dataplane", "WorkflowVersion")
    connection_model = apps.get_model("dataplane", "Connection")
    customer_model = apps.get_model("customers", "Customer")
    connector_model = apps.get_model("build", "Connector")
    definition_model = apps.get_model("build", "WorkflowDefinition")
    definition_version_model = apps.get_model("build", "WorkflowDefinitionVersion")

    # A workflow already linked to a definition has nothing to move.
    workflows = list(
        workflow_model.objects.using(alias)
        .filter(definition_ref__isnull=True)
        .order_by("created_at", "id")
    )
    if not workflows:
        return
    connections = {str(c.id): c for c in connection_model.objects.using(alias).all()}
    slugs = dict(connector_model.objects.using(MAIN_OWNER_ALIAS).values_list("id", "slug"))
    customer_names = dict(
        customer_model.objects.using(MAIN_OWNER_ALIAS)
        .filter(id__in={w.customer_id for w in workflows})
        .values_list("id", "name")
    )
    names: dict[Any, set[str]] = {}
    taken_slugs: dict[Any, set[str]] = {}
    for workflow in workflows:
        if workflow.org_id not in names:
            # Definitions made before (by hand, or by this on another database), except the
            # ones this run rewrites.
            existing = definition_model.objects.using(MAIN_OWNER_ALIAS).filter(
                org_id=workflow.org_id
            ).exclude(id__in=[w.id for w in workflows])
            names[workflow.org_id] = set(existing.values_list("name", flat=True))
            taken_slugs[workflow.org_id] = set(existing.values_list("slug", flat=True))
        name = workflow.name
        if name in names[workflow.org_id]:
            name = f"{workflow.name} ({customer_names.get(workflow.customer_id, 'customer')})"
        name = _unique(name, names[workflow.org_id], 120)
        slug = _unique(slugify(name) or "workflow", taken_slugs[workflow.org_id], SLUG_MAX_LENGTH)
        chosen: dict[str, str] = {}
        current = _convert(workflow.definition, connections, slugs, chosen)
        definition_model.objects.using(MAIN_OWNER_ALIAS).update_or_create(
            id=workflow.id,
            defaults={
                "org_id": workflow.org_id,
                "name": name,
                "slug": slug,
                "description": workflow.description,
                "definition": current,
                "current_version": workflow.current_version,
                "test_version": workflow.test_version,
                "prod_version": workflow.prod_version,
            },
        )
        for version in version_model.objects.using(alias).filter(workflow_id=workflow.id):
            snapshot = {
                "name": name,
                "description": workflow.description,
                "definition": _convert(version.definition, connections, slugs, chosen),
            }
            definition_version_model.objects.using(MAIN_OWNER_ALIAS).update_or_create(
                id=uuid.uuid5(workflow.id, str(version.number)),
                defaults={
                    "org_id": workflow.org_id,
                    "workflow_id": workflow.id,
                    "number": version.number,
                    "snapshot": snapshot,
                },
            )
        workflow.definition_ref_id = workflow.id
        workflow.connections = chosen
        workflow.save(update_fields=["definition_ref", "connections"])


class Migration(migrations.Migration):
    dependencies = [
        ("dataplane", "0007_workflow_definitions"),
        ("build", "0005_workflow_definitions"),
        ("customers", "0007_customer_inbound_secret"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
