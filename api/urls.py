"""Settings → API Keys (and the embed tokens listed there), included at
``/o/<org_slug>/settings/api-keys/``.

The JSON API itself lives in ``api.endpoints`` (namespace ``api_v1``, at ``/api/v1/``).
"""

from django.urls import path

from api import views

app_name = "api"

urlpatterns = [
    path("", views.key_list, name="key_list"),
    path("new/", views.key_create, name="key_create"),
    path("<uuid:key_id>/revoke/", views.key_revoke, name="key_revoke"),
    path(
        "embed-tokens/<uuid:grant_id>/revoke/",
        views.embed_token_revoke,
        name="embed_token_revoke",
    ),
]
