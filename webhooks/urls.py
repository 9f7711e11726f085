"""Settings → ADVANCED → Webhooks, included at ``/o/<org_slug>/settings/webhooks/``."""

from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.endpoint_list, name="endpoint_list"),
    path("new/", views.endpoint_create, name="endpoint_create"),
    path("<uuid:endpoint_id>/", views.endpoint_detail, name="endpoint_detail"),
    path("<uuid:endpoint_id>/edit/", views.endpoint_edit, name="endpoint_edit"),
    path("<uuid:endpoint_id>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("<uuid:endpoint_id>/enable/", views.endpoint_enable, name="endpoint_enable"),
    path("<uuid:endpoint_id>/test/", views.endpoint_test, name="endpoint_test"),
    path("deliveries/<uuid:delivery_id>/", views.delivery_detail, name="delivery_detail"),
    path(
        "deliveries/<uuid:delivery_id>/redeliver/",
        views.delivery_redeliver,
        name="delivery_redeliver",
    ),
]
