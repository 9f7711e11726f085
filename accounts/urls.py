from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, path, reverse_lazy
from django.views import View

from accounts.forms import EmailAuthenticationForm
from accounts.views import PasswordResetView

app_name = "accounts"


def _page(
    route: str, view: type[View[Any]], name: str, *, then: str = "", **options: Any
) -> URLPattern:
    """One page of Django's sign-in and password flows; ``then`` names the page it leads to."""
    if then:
        options["success_url"] = reverse_lazy(f"accounts:{then}")
    return path(route, view.as_view(**options), name=name)


urlpatterns = [
    _page(
        "login/",
        auth_views.LoginView,
        "login",
        authentication_form=EmailAuthenticationForm,
        redirect_authenticated_user=True,
    ),
    _page("logout/", auth_views.LogoutView, "logout"),
    _page(
        "password/change/",
        auth_views.PasswordChangeView,
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
        auth_views.PasswordResetConfirmView,
        "password_reset_confirm",
        then="password_reset_complete",
    ),
    _page(
        "password/reset/complete/", auth_views.PasswordResetCompleteView, "password_reset_complete"
    ),
]
