"""Customer data-plane pages, under ``/o/<org_slug>/customers/<uuid:customer_id>/``.

Every path has at least two segments so none shadows a customer tab (``<slug:tab>/``).
"""

from django.urls import path

from dataplane import views

app_name = "dataplane"

connection = "connections/<uuid:connection_id>/"
workflow = "workflows/<uuid:workflow_id>/"
configuration = "configuration/<uuid:config_id>/"

urlpatterns = [
    path("connections/new/", views.connection_new, name="connection_new"),
    path("connections/new/<uuid:connector_id>/", views.connection_create, name="connection_create"),
    path("connections/share/", views.connection_share, name="connection_share"),
    path(connection, views.connection_detail, name="connection_detail"),
    path(connection + "edit/", views.connection_edit, name="connection_edit"),
    path(connection + "test/", views.connection_test, name="connection_test"),
    path(connection + "disconnect/", views.connection_disconnect, name="connection_disconnect"),
    path(connection + "delete/", views.connection_delete, name="connection_delete"),
    path("workflows/new/", views.workflow_create, name="workflow_create"),
    path(workflow, views.workflow_detail, name="workflow_detail"),
    path(workflow + "edit/", views.workflow_edit, name="workflow_edit"),
    path(workflow + "toggle/", views.workflow_toggle, name="workflow_toggle"),
    path(workflow + "deploy/", views.workflow_deploy, name="workflow_deploy"),
    path(workflow + "run/", views.workflow_run, name="workflow_run"),
    path(workflow + "delete/", views.workflow_delete, name="workflow_delete"),
    path(workflow + "versions/<int:number>/", views.workflow_version, name="workflow_version"),
    path("executions/<uuid:execution_id>/", views.execution_detail, name="execution_detail"),
    path("configuration/new/", views.configuration_create, name="configuration_create"),
    path(configuration + "edit/", views.configuration_edit, name="configuration_edit"),
    path(configuration + "delete/", views.configuration_delete, name="configuration_delete"),
]
