from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.backends.signals import connection_created

from tenancy.context import install_scope_settings


class TenancyConfig(AppConfig):
    name = "tenancy"
    default = True

    def ready(self) -> None:
        from tenancy import checks  # noqa: F401  (registers the RLS system check)

        connection_created.connect(install_scope_settings, dispatch_uid="tenancy.scope_settings")


class PlatformAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "tenancy.admin_site.PlatformAdminSite"
