from django.apps import AppConfig


class BuildConfig(AppConfig):
    name = "build"
    default_auto_field = "django.db.models.BigAutoField"
