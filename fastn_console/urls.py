from django.contrib import admin
from django.urls import include, path

from fastn_console.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("o/<slug:org_slug>/", include("customers.urls")),
    path("", include("accounts.home_urls")),
]
