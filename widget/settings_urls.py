"""Widget settings under ``/o/<org_slug>/settings/general/embedding/``."""

from django.urls import path

from widget import settings_views

app_name = "widget_settings"

urlpatterns = [
    path("", settings_views.embedding_origins_edit, name="embedding_origins"),
]
