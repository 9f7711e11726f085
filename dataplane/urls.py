"""Customer data-plane pages, under ``/o/<org_slug>/customers/<uuid:customer_id>/``.

Every path has at least two segments so none shadows a customer tab (``<slug:tab>/``).
"""

from django.urls import path

from dataplane.views import configuration, connections, workflows

app_name = "dataplane"

CONNECTION = "connections/<uuid:connection_id>/"
WORKFLOW = "workflows/<uuid:workflow_id>/"
CONFIGURATION = "configuration/<uuid:config_id>/"

urlpatterns = [
    path("connections/new/", connections.connection_new, name="connection_new"),
    path(
        "connections/new/<uuid:connector_id>/",
        connections.connection_create,
        name="connection_create",
    ),
    path("connections/share/", connections.connection_share, name="connection_share"),
    path(
        "connections/oauth/callback/",
        connections.connection_oauth_callback,
        name="connection_oauth_callback",
    ),
    path(CONNECTION, connections.connection_detail, name="connection_detail"),
    path(CONNECTION + "edit/", connections.connection_edit, name="connection_edit"),
    path(CONNECTION + "test/", connections.connection_test, name="connection_test"),
    path(
        CONNECTION + "disconnect/", connections.connection_disconnect, name="connection_disconnect"
    ),
    path(CONNECTION + "delete/", connections.connection_delete, name="connection_delete"),
    path("workflows/new/", workflows.workflow_create, name="workflow_create"),
    path(WORKFLOW, workflows.workflow_detail, name="workflow_detail"),
    path(WORKFLOW + "edit/", workflows.workflow_edit, name="workflow_edit"),
    path(WORKFLOW + "toggle/", workflows.workflow_toggle, name="workflow_toggle"),
    path(WORKFLOW + "run/", workflows.workflow_run, name="workflow_run"),
    path(WORKFLOW + "delete/", workflows.workflow_delete, name="workflow_delete"),
    path("executions/<uuid:execution_id>/", workflows.execution_detail, name="execution_detail"),
    path(
        "executions/<uuid:execution_id>/replay/",
        workflows.execution_replay,
        name="execution_replay",
    ),
    path("configuration/new/", configuration.configuration_create, name="configuration_create"),
    path(CONFIGURATION + "edit/", configuration.configuration_edit, name="configuration_edit"),
    path(
        CONFIGURATION + "delete/", configuration.configuration_delete, name="configuration_delete"
    ),
]
