"""Included at ``/o/<org_slug>/settings/security/``."""

from django.urls import path

from accounts import views

app_name = "security"

urlpatterns = [
    path("", views.security_settings, name="settings"),
]
