"""The data-plane tables of a region database of its own are reached through the runtime login's
scope roles (``tenancy.scope_roles``): one plain policy per role replaces the login's
settings-only pair, and the login itself, with no role entered, sees no row."""

from django.db import migrations

import tenancy.scope_roles


class Migration(migrations.Migration):
    dependencies = [("dataplane", "0009_workflows_are_enablements")]

    operations = [
        tenancy.scope_roles.ScopeRolePolicies(model_name)
        for model_name in ("connection", "workflow", "executionlog", "configuration", "event")
    ]
