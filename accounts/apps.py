from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The admin form's sign-ins are audited through Django's authentication signals.
        from accounts import admin_sign_in  # noqa: F401
