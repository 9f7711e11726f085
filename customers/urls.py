from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("", views.organization_home, name="home"),
    path("settings/customers/", views.customer_list, name="customer_list"),
    path("customers/<uuid:customer_id>/", views.customer_detail, name="customer_detail"),
    path(
        "customers/<uuid:customer_id>/<slug:tab>/",
        views.customer_detail,
        name="customer_tab",
    ),
]
