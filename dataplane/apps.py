from django.apps import AppConfig


class DataplaneConfig(AppConfig):
    name = "dataplane"
    default_auto_field = "django.db.models.BigAutoField"
