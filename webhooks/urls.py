"""Settings → ADVANCED → Webhooks, included at ``/o/<org_slug>/settings/webhooks/``."""

from django.urls import path

from fastn_console.routes import object_actions
from webhooks import views

app_name = "webhooks"

endpoint = "<uuid:endpoint_id>/"
delivery = "deliveries/<uuid:delivery_id>/"

urlpatterns = [
    path("", views.endpoint_list, name="endpoint_list"),
    path("new/", views.endpoint_create, name="endpoint_create"),
    path(endpoint, views.endpoint_detail, name="endpoint_detail"),
    *object_actions(endpoint, views, "endpoint", "edit", "delete", "enable", "test"),
    path(delivery, views.delivery_detail, name="delivery_detail"),
    *object_actions(delivery, views, "delivery", "redeliver"),
]
