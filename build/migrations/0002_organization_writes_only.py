"""Connectors, agents, tools and their versions stay readable to customer-restricted principals
(the widget lists connectors) but only organization-wide principals may change them, at the
database level too."""

from django.db import migrations

import tenancy.operations


class Migration(migrations.Migration):
    dependencies = [("build", "0001_initial")]

    operations = [
        tenancy.operations.RestrictWritesToOrganization(model)
        for model in (
            "connector",
            "agent",
            "tool",
            "connectorversion",
            "agentversion",
            "toolversion",
        )
    ]
