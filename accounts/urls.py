from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, path, reverse_lazy
from django.views import View

from accounts import views
from accounts.views import (
    LoginView,
    LogoutView,
    PasswordChangeView,
    PasswordResetConfirmView,
    PasswordResetView,
)

app_name = "accounts"


def _page(
    route: str, view: type[View[Any]], name: str, *, then: str = "", **options: Any
) -> URLPattern:
    """One page of Django's sign-in and password flows; ``then`` names the page it leads to."""
    if then:
        options["success_url"] = reverse_lazy(f"accounts:{then}")
    return path(route, view.as_view(**options), name=name)


urlpatterns = [
    _page("login/", LoginView, "login"),
    path("login/code/", views.login_code, name="login_code"),
    path("two-factor/", views.two_factor_page, name="two_factor"),
    path("two-factor/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("two-factor/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path(
        "two-factor/recovery-codes/regenerate/",
        views.recovery_codes_regenerate,
        name="recovery_codes_regenerate",
    ),
    path("two-factor/disable/", views.two_factor_disable, name="two_factor_disable"),
    _page("logout/", LogoutView, "logout"),
    _page(
        "password/change/",
        PasswordChangeView,
        "password_change",
        then="password_change_done",
    ),
    _page("password/change/done/", auth_views.PasswordChangeDoneView, "password_change_done"),
    _page(
        "password/reset/",
        PasswordResetView,
        "password_reset",
        then="password_reset_done",
        email_template_name="registration/password_reset_email.txt",
    ),
    _page("password/reset/sent/", auth_views.PasswordResetDoneView, "password_reset_done"),
    _page(
        "password/reset/<uidb64>/<token>/",
        PasswordResetConfirmView,
        "password_reset_confirm",
        then="password_reset_complete",
    ),
    _page(
        "password/reset/complete/", auth_views.PasswordResetCompleteView, "password_reset_complete"
    ),
]
