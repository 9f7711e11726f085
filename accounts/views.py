from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.selectors import memberships_of_current_user
from fastn_console.throttle import (
    PASSWORD_RESET_PER_EMAIL,
    PASSWORD_RESET_PER_IP,
    by_address,
    by_ip,
    throttle_hit,
)
from roles.views.common import membership_home


def home(request: HttpRequest) -> HttpResponse:
    """Send a member to their first organization, an end user to their customer's page."""
    membership = memberships_of_current_user().first()
    if membership is None:
        return render(request, "accounts/no_organization.html")
    return membership_home(membership)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, throttled per client address and per target address.

    Every valid request counts, whether or not the address has an account, and a throttled one
    gets the same page for both (the form again, with what was typed, a 429 and
    ``Retry-After``): the throttle tells nobody whether an account exists.
    """

    def form_valid(self, form: Any) -> HttpResponse:
        refused = throttle_hit(
            by_ip(PASSWORD_RESET_PER_IP, self.request),
            by_address(PASSWORD_RESET_PER_EMAIL, form.cleaned_data["email"]),
        )
        if refused is None:
            return super().form_valid(form)
        form.add_error(None, refused.message)
        return refused.refuse(self.form_invalid(form))
