"""Sign-ins through the staff admin's own form (``/admin/login/``, ``/admin/logout/``), audited
like the console's (SPEC §14).

The console's login and logout views record their events themselves; these receivers of
Django's authentication signals record the admin form's, told apart by the path. An event is
written in each organization the account is a member of (``account_event_record``, with the
request's address and user agent) and, since staff usually belong to none, also logged on the
``fastn_console.security`` logger: the platform's own trail of who signed in to the admin, from
where. A staff account with two-factor is recorded once its code is right (the code page), not
at the password.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import User
from accounts.selectors import account_for_login_name
from accounts.services import account_event_record
from audit import actions
from audit.origin import origin_of
from fastn_console.clients import login_name

security_log = logging.getLogger("fastn_console.security")


def _on_admin_page(request: HttpRequest | None, name: str) -> bool:
    return request is not None and request.path_info == reverse(f"admin:{name}")


def _record(
    request: HttpRequest, user: User | None, action: str, after: dict[str, Any], email: str
) -> None:
    written = account_event_record(user=user, action=action, after=after) if user else 0
    origin = origin_of(request)
    security_log.info(
        "admin %s",
        action,
        extra={
            "action": action,
            "email": email,
            "ip_address": origin.ip_address,
            "user_agent": origin.user_agent,
            "audit_rows": written,
            **after,
        },
    )


@receiver(user_logged_in, dispatch_uid="accounts.admin_signed_in")
def admin_signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if not _on_admin_page(request, "login") or not isinstance(user, User):
        return
    if user.has_two_factor:
        return  # not signed in until the code page has a right code; it records the sign-in
    assert request is not None
    _record(request, user, actions.AUTH_LOGIN, {"method": "admin_password"}, user.email)


@receiver(user_login_failed, dispatch_uid="accounts.admin_sign_in_failed")
def admin_sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if not _on_admin_page(request, "login"):
        return
    assert request is not None
    email = login_name(request, credentials)
    locked = bool(getattr(request, "axes_locked_out", False))
    reason = "locked_out" if locked else "invalid_credentials"
    after = {"method": "admin_password", "reason": reason}
    _record(request, account_for_login_name(email), actions.AUTH_LOGIN_FAILED, after, email)


@receiver(user_logged_out, dispatch_uid="accounts.admin_signed_out")
def admin_signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if not _on_admin_page(request, "logout") or not isinstance(user, User):
        return
    assert request is not None
    _record(request, user, actions.AUTH_LOGOUT, {"method": "admin"}, user.email)
