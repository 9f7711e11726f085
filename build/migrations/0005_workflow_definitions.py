"""Workflow definitions: defined once per organization, versioned, deployed to test and prod
(SPEC §11); readable to customer-restricted principals, written organization-wide only."""


import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models

import tenancy.operations


class Migration(migrations.Migration):

    dependencies = [
        ('build', '0004_connector_oauth'),
        ('customers', '0007_customer_inbound_secret'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='WorkflowDefinition',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('name', models.CharField(max_length=120)),
                ('slug', models.SlugField(max_length=80)),
                ('description', models.TextField(blank=True)),
                ('current_version', models.PositiveIntegerField(default=1)),
                ('test_version', models.PositiveIntegerField(blank=True, null=True)),
                ('prod_version', models.PositiveIntegerField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('definition', models.JSONField(default=dict)),
                ('org', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.organization')),
            ],
            options={
                'ordering': ['name'],
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='WorkflowDefinitionVersion',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('number', models.PositiveIntegerField()),
                ('snapshot', models.JSONField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('org', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.organization')),
                ('workflow', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='versions', to='build.workflowdefinition')),
            ],
            options={
                'ordering': ['-number'],
                'abstract': False,
            },
        ),
        migrations.AddConstraint(
            model_name='workflowdefinition',
            constraint=models.UniqueConstraint(fields=('org', 'id'), name='build_workflowdefinition_org_id_uniq'),
        ),
        migrations.AddConstraint(
            model_name='workflowdefinition',
            constraint=models.UniqueConstraint(fields=('org', 'slug'), name='build_workflowdefinition_slug_uniq'),
        ),
        migrations.AddConstraint(
            model_name='workflowdefinitionversion',
            constraint=models.UniqueConstraint(fields=('org', 'workflow', 'number'), name='build_workflowdefinitionversion_uniq'),
        ),
        tenancy.operations.EnableTenantRLS('workflowdefinition', 'org'),
        tenancy.operations.EnableTenantRLS('workflowdefinitionversion', 'org'),
        tenancy.operations.RestrictWritesToOrganization('workflowdefinition'),
        tenancy.operations.RestrictWritesToOrganization('workflowdefinitionversion'),
        tenancy.operations.AddCompositeForeignKey(model_name='workflowdefinitionversion', name='build_workflowdefinitionversion_parent_fk', columns=['org_id', 'workflow_id'], to_model='build.workflowdefinition', to_columns=['org_id', 'id']),
    ]
