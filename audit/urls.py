"""Included at ``/o/<org_slug>/settings/audit/``."""

from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.audit_log, name="log"),
    path("export.csv", views.audit_log_export, name="export"),
]
