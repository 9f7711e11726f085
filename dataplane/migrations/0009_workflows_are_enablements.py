"""A customer's workflow is now only its enablement of a definition (SPEC §11): the name,
description, versions and deployments moved to ``build.WorkflowDefinition`` (0008)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("dataplane", "0008_workflows_to_definitions")]

    operations = [
        migrations.RemoveConstraint(model_name="workflow", name="dataplane_workflow_name_uniq"),
        migrations.DeleteModel(name="WorkflowVersion"),
        migrations.RemoveField(model_name="workflow", name="name"),
        migrations.RemoveField(model_name="workflow", name="description"),
        migrations.RemoveField(model_name="workflow", name="definition"),
        migrations.RemoveField(model_name="workflow", name="current_version"),
        migrations.RemoveField(model_name="workflow", name="test_version"),
        migrations.RemoveField(model_name="workflow", name="prod_version"),
        migrations.RenameField(model_name="workflow", old_name="definition_ref", new_name="definition"),
        migrations.AlterField(
            model_name="workflow",
            name="definition",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="build.workflowdefinition",
            ),
        ),
        migrations.AlterModelOptions(name="workflow", options={"ordering": ["created_at", "id"]}),
        migrations.AddConstraint(
            model_name="workflow",
            constraint=models.UniqueConstraint(
                fields=("customer", "definition"), name="dataplane_workflow_definition_uniq"
            ),
        ),
    ]
