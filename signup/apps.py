from django.apps import AppConfig


class SignupConfig(AppConfig):
    name = "signup"
    default_auto_field = "django.db.models.BigAutoField"
