"""``TwoFactorMiddleware``: where two-factor authentication is required, nobody gets past
without it (SPEC §14).

- Anyone who has two-factor on: a session that has not passed it (signed in through a form
  that asks no code, such as the admin's) reaches nothing but the code page and sign-out.
- An organization with **Require two-factor authentication** on: before any of its pages
  (``/o/<org_slug>/…``, the tenant the console middleware resolved), a member without
  two-factor is sent to set it up, and one whose session has not passed it (a session older
  than their enrolment) to enter a code; both come back to the page they asked for.
- The staff admin (``/admin/``) when ``STAFF_REQUIRE_TWO_FACTOR`` is on (the default under
  production settings): the same for every staff member, whichever login page they used.

Placed after ``TenantContextMiddleware`` (it reads the tenant that one attaches). It makes no
query: the organization and the person are already loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from accounts.two_factor import session_verified
from fastn_console.console import tenant_of

ADMIN_PREFIX = "/admin/"


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not session_verified(request):
            if getattr(user, "has_two_factor", False):
                if request.path_info not in self._always_open():
                    return self._send_to_two_factor(request, "Your account uses two-factor.")
            else:
                reason = self._requirement(request)
                if reason is not None:
                    return self._send_to_two_factor(request, reason)
        return self.get_response(request)

    @staticmethod
    def _always_open() -> frozenset[str]:
        return frozenset({reverse("accounts:login_code"), reverse("accounts:logout")})

    def _requirement(self, request: HttpRequest) -> str | None:
        """Why this page needs two-factor, or ``None`` when it does not."""
        if request.path_info.startswith(ADMIN_PREFIX):
            if request.user.is_staff and settings.STAFF_REQUIRE_TWO_FACTOR:
                return "Fastn staff need two-factor authentication for the admin."
            return None
        try:
            organization = tenant_of(request).organization
        except Http404:
            return None
        if organization.require_two_factor:
            return f"{organization.name} requires two-factor authentication."
        return None

    def _send_to_two_factor(self, request: HttpRequest, reason: str) -> HttpResponse:
        query = urlencode({"next": request.get_full_path()})
        if getattr(request.user, "has_two_factor", False):
            messages.info(request, f"{reason} Enter a code to continue.")
            return HttpResponseRedirect(f"{reverse('accounts:login_code')}?{query}")
        messages.warning(request, f"{reason} Set it up to continue.")
        return HttpResponseRedirect(f"{reverse('accounts:two_factor_setup')}?{query}")
