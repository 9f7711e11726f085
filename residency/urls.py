from django.urls import path

from residency import views

app_name = "residency"

urlpatterns = [
    path("executions/", views.organization_executions, name="executions"),
    path(
        "customers/<uuid:customer_id>/residency/relocate/",
        views.relocate,
        name="relocate",
    ),
    path(
        "customers/<uuid:customer_id>/residency/status.json",
        views.relocation_status,
        name="status",
    ),
]
