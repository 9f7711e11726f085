"""Included at ``/o/<org_slug>/settings/sso/``."""

from django.urls import path

from sso import views

app_name = "sso_settings"

urlpatterns = [
    path("", views.settings_page, name="settings"),
]
