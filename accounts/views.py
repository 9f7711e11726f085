from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.selectors import memberships_of_current_user


def home(request: HttpRequest) -> HttpResponse:
    """Send a member to their first organization, an end user to their customer's page."""
    membership = memberships_of_current_user().first()
    if membership is None:
        return render(request, "accounts/no_organization.html")
    if membership.restricted_customer_id:
        return redirect(
            "customers:customer_detail",
            org_slug=membership.org.slug,
            customer_id=membership.restricted_customer_id,
        )
    return redirect("customers:home", org_slug=membership.org.slug)
