from django.apps import AppConfig


class ResidencyConfig(AppConfig):
    name = "residency"
    default_auto_field = "django.db.models.BigAutoField"
