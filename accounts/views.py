from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.selectors import memberships_of_current_user
from roles.views.common import membership_home


def home(request: HttpRequest) -> HttpResponse:
    """Send a member to their first organization, an end user to their customer's page."""
    membership = memberships_of_current_user().first()
    if membership is None:
        return render(request, "accounts/no_organization.html")
    return membership_home(membership)
