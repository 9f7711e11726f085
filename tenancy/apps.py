from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class TenancyConfig(AppConfig):
    name = "tenancy"
    default = True

    def ready(self) -> None:
        from tenancy import checks  # noqa: F401  (registers the RLS system check)


class PlatformAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "tenancy.admin_site.PlatformAdminSite"
