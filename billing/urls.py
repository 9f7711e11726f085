from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("upgrade/", views.upgrade_request, name="upgrade_request"),
    path("limits/", views.customer_limits_index, name="customer_limits_index"),
    path("limits/<uuid:customer_id>/", views.customer_limits, name="customer_limits"),
]
