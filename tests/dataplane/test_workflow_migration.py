"""Migration dataplane.0008 (SPEC §11): an installation's per-customer workflows become
organization-level definitions that their customers have, with their versions, deployments and
connections — run on a real region database, as the owner login migrates it."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from build.models import WorkflowDefinition, WorkflowDefinitionVersion
from dataplane.models import Workflow
from tenancy.context import ORGANIZATION, context, region_alias
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import in_customer, make_connection, make_connector
from tests.factories import make_customer, make_org

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)

BEFORE = [("dataplane", "0007_workflow_definitions")]


def _migrate(alias: str, targets: list[tuple[str, str]] | None = None) -> None:
    """Migrate ``alias`` to ``targets``; by default forward to the data plane's latest (the
    database must end as every other test expects it)."""
    executor = MigrationExecutor(connections[alias])
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes("dataplane"))


def _old_workflow(alias, customer, name, steps_by_version, *, test=None, prod=None) -> uuid.UUID:
    """A workflow as installations before definitions stored it, with its versions."""
    workflow_id = uuid.uuid4()
    latest = steps_by_version[-1]
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "INSERT INTO dataplane_workflow (id, org_id, customer_id, created_at, name, "
            "description, enabled, definition, current_version, test_version, prod_version, "
            "connections) VALUES (%s, %s, %s, now(), %s, 'Old', true, %s, %s, %s, %s, '{}')",
            [
                workflow_id,
                customer.org_id,
                customer.id,
                name,
                json.dumps({"steps": latest}),
                len(steps_by_version),
                test,
                prod,
            ],
        )
        for number, steps in enumerate(steps_by_version, start=1):
            cursor.execute(
                "INSERT INTO dataplane_workflowversion (id, org_id, customer_id, created_at, "
                "workflow_id, number, definition) VALUES (%s, %s, %s, now(), %s, %s, %s)",
                [
                    uuid.uuid4(),
                    customer.org_id,
                    customer.id,
                    workflow_id,
                    number,
                    json.dumps({"steps": steps}),
                ],
            )
    return workflow_id


def test_per_customer_workflows_become_definitions_the_customers_have() -> None:
    org = make_org("Acme")
    first = make_customer(org, "Northwind", region="apac")
    second = make_customer(org, "Hooli", region="apac")
    connector = make_connector(org, name="Acme CRM")
    connection = make_connection(org, first, connector)
    alias = region_alias("apac", login="owner")
    _migrate(alias, BEFORE)
    try:
        one = [{"name": "a", "url": "https://crm.example/v1"}]
        two = [{"name": "a", "url": "https://crm.example/v2", "connection": str(connection.id)}]
        synced = _old_workflow(alias, first, "Sync", [one, two], test=2, prod=1)
        other = _old_workflow(alias, second, "Sync", [[{"name": "b", "url": "https://b.example"}]])
    finally:
        _migrate(alias)

    with context(org_id=org.id, role=ORGANIZATION):
        definitions = {d.id: d for d in WorkflowDefinition.objects.all()}
        versions = {
            (v.workflow_id, v.number): v.snapshot for v in WorkflowDefinitionVersion.objects.all()
        }
    assert set(definitions) == {synced, other}
    mine = definitions[synced]
    assert (mine.name, mine.description) == ("Sync", "Old")
    assert (mine.current_version, mine.test_version, mine.prod_version) == (2, 2, 1)
    assert mine.definition["steps"][0] == {
        "name": "a",
        "url": "https://crm.example/v2",
        "connector": connector.slug,
    }
    assert versions[(synced, 1)]["definition"]["steps"][0]["url"] == "https://crm.example/v1"
    assert versions[(synced, 2)]["definition"]["steps"][0]["connector"] == connector.slug
    # Two customers' workflows of one name: the second is named with its customer.
    assert definitions[other].name == "Sync (Hooli)"
    assert definitions[other].slug != mine.slug
    with in_customer(org, first):
        workflow = Workflow.objects.get(id=synced)
        assert workflow.definition_id == synced
        assert workflow.connections == {connector.slug: str(connection.id)}
        assert workflow.prod_version == 1
    with in_customer(org, second):
        assert Workflow.objects.get(id=other).definition_id == other
