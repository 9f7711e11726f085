from django.urls import path

from customers import import_views, views

app_name = "customers"

customer = "customers/<uuid:customer_id>/"
customer_import = "settings/customers/import/<uuid:import_id>/"

urlpatterns = [
    path("", views.organization_home, name="home"),
    path("settings/general/", views.general, name="general"),
    path("settings/general/domain/", views.general_domain, name="general_domain"),
    path(
        "settings/general/domain/cancel/",
        views.general_domain_cancel,
        name="general_domain_cancel",
    ),
    path(
        "settings/general/domain/verify/<str:token>/",
        views.verify_domain,
        name="verify_domain",
    ),
    path("settings/general/delete/", views.organization_delete, name="organization_delete"),
    path("settings/customers/", views.customer_list, name="customer_list"),
    path("settings/customers/new/", views.customer_create, name="customer_create"),
    path("settings/customers/import/", import_views.customer_import, name="customer_import"),
    path(
        customer_import,
        import_views.customer_import_detail,
        name="customer_import_detail",
    ),
    path(customer_import + "run/", import_views.customer_import_run, name="customer_import_run"),
    path(
        customer_import + "status.json",
        import_views.customer_import_status,
        name="customer_import_status",
    ),
    path(
        customer_import + "result.csv",
        import_views.customer_import_result,
        name="customer_import_result",
    ),
    path(customer, views.customer_detail, name="customer_detail"),
    path(customer + "edit/", views.customer_edit, name="customer_edit"),
    path(customer + "status/", views.customer_status, name="customer_status"),
    path(customer + "delete/", views.customer_delete, name="customer_delete"),
    path(customer + "export.json", views.customer_export, name="customer_export"),
    path(customer + "<slug:tab>/", views.customer_detail, name="customer_tab"),
]
