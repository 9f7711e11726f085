from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import services, two_factor
from accounts.forms import (
    CodeForm,
    EmailAuthenticationForm,
    RequireTwoFactorForm,
    TwoFactorDisableForm,
)
from accounts.models import User
from accounts.selectors import account_for_login_name, memberships_of_current_user
from accounts.services import TwoFactorRefused, account_event_record
from accounts.two_factor import (
    CODES_SESSION_KEY,
    PENDING_MAX_AGE_SECONDS,
    PENDING_SESSION_KEY,
    SETUP_SECRET_SESSION_KEY,
    VERIFIED_SESSION_KEY,
)
from audit import actions
from fastn_console.clients import login_name
from fastn_console.console import add_service_errors, organization_wide
from fastn_console.throttle import (
    PASSWORD_RESET_PER_EMAIL,
    PASSWORD_RESET_PER_IP,
    Rule,
    by_address,
    by_ip,
    throttle_hit,
    throttle_peek,
)
from roles.catalog import MANAGE_SETTINGS
from roles.views.common import membership_home
from sso.selectors import SsoTarget, sso_target_for_email
from sso.views import sso_begin

# Wrong second-factor codes per account: past it, sign in again later (the password step has
# django-axes; a code has a million values, so it needs its own budget).
TWO_FACTOR_PER_USER = Rule("two_factor:user", 5, 900, "Too many wrong codes. Try again in {wait}.")


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
        email = form.cleaned_data["email"]
        refused = throttle_hit(
            by_ip(PASSWORD_RESET_PER_IP, self.request),
            by_address(PASSWORD_RESET_PER_EMAIL, email),
        )
        if refused is not None:
            form.add_error(None, refused.message)
            return refused.refuse(self.form_invalid(form))
        response = super().form_valid(form)
        for user in form.get_users(email):
            account_event_record(user=user, action=actions.AUTH_PASSWORD_RESET_REQUEST)
        return response


class LoginView(auth_views.LoginView):
    """Django's sign-in by email, audited: success, and failure for an existing account (with
    ``locked_out`` when django-axes refused the attempt).

    Email first (SPEC §14): an address whose organization has single sign-on on, posted
    without a password, goes to its identity provider (``sso.views.sso_begin``); any other
    address posted alone gets the password step. An email and a password posted together sign
    in as before, unless the organization requires single sign-on for its domain."""

    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        email = str(request.POST.get("username", "")).strip()
        target = sso_target_for_email(email)
        if not request.POST.get("password"):
            if target is not None:
                return sso_begin(request, target, email=email, next_url=self.get_success_url())
            return self._email_step_done(email)
        if target is not None and target.require_sso:
            return self._password_refused(email, target)
        return super().post(request, *args, **kwargs)

    def _email_step_done(self, email: str) -> HttpResponse:
        """The password step for ``email`` (no error: the person has not typed it yet)."""
        form = self.authentication_form(self.request, initial={"username": email})
        form.fields["username"].widget.attrs.pop("autofocus", None)
        form.fields["password"].widget.attrs["autofocus"] = True
        return self.render_to_response(self.get_context_data(form=form, password_step=True))

    def _password_refused(self, email: str, target: SsoTarget) -> HttpResponse:
        user = account_for_login_name(email)
        if user is not None:
            account_event_record(
                user=user, action=actions.AUTH_LOGIN_FAILED, after={"reason": "sso_required"}
            )
        form = self.authentication_form(self.request, initial={"username": email})
        refusal = (
            f"{target.organization_name} signs in with single sign-on only: addresses at its "
            "domain cannot use a password. Continue with single sign-on."
        )
        context = self.get_context_data(form=form, login_refusal=refusal, sso_offer=email)
        return self.render_to_response(context, status=400)

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if user.has_two_factor:
            # The password was right; the session is signed in only once a code is too.
            self.request.session[PENDING_SESSION_KEY] = {
                "user": str(user.pk),
                "backend": user.backend,
                "started": time.time(),
                "next": self.get_success_url(),
            }
            return redirect("accounts:login_code")
        response = super().form_valid(form)
        account_event_record(user=user, action=actions.AUTH_LOGIN, after={"method": "password"})
        return response

    def form_invalid(self, form: Any) -> HttpResponse:
        user = account_for_login_name(login_name(self.request))
        if user is not None:
            locked = bool(getattr(self.request, "axes_locked_out", False))
            account_event_record(
                user=user,
                action=actions.AUTH_LOGIN_FAILED,
                after={"reason": "locked_out" if locked else "invalid_credentials"},
            )
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        response = super().post(request, *args, **kwargs)
        if isinstance(user, User):
            account_event_record(user=user, action=actions.AUTH_LOGOUT)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        account_event_record(user=form.user, action=actions.AUTH_PASSWORD_CHANGE)
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        account_event_record(user=form.user, action=actions.AUTH_PASSWORD_RESET)
        return response


# --- Two-factor authentication -------------------------------------------------------------


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def _code_person(request: HttpRequest) -> tuple[User | None, dict[str, Any]]:
    """Who the code page is for: a signed-in person with two-factor whose session has not
    passed it yet, or the account whose password was just right (for five minutes)."""
    if request.user.is_authenticated:
        signed_in = request.user if isinstance(request.user, User) else None
        return (signed_in if signed_in is not None and signed_in.has_two_factor else None), {}
    pending = request.session.get(PENDING_SESSION_KEY) or {}
    if not pending or time.time() - float(pending.get("started", 0)) > PENDING_MAX_AGE_SECONDS:
        request.session.pop(PENDING_SESSION_KEY, None)
        return None, {}
    return User.objects.filter(pk=pending["user"], is_active=True).first(), pending


@login_not_required
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator app or a recovery code."""
    user, pending = _code_person(request)
    if user is None:
        if request.user.is_authenticated:
            return redirect("accounts:two_factor")
        messages.info(request, "That sign-in took too long or has ended. Sign in again.")
        return redirect("accounts:login")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        budget = (TWO_FACTOR_PER_USER, str(user.pk))
        refused = throttle_peek(budget)
        if refused is not None:
            form.add_error(None, refused.message)
            return refused.refuse(render(request, "accounts/login_code.html", {"form": form}))
        try:
            method = services.two_factor_verify(user=user, code=form.cleaned_data["code"])
        except TwoFactorRefused as wrong:
            throttle_hit(budget)
            services.two_factor_failure_record(user=user, refused=wrong)
            form.add_error("code", wrong.message)
            status = 400
        else:
            if pending:
                auth_login(request, user, backend=pending["backend"])
            else:
                request.session.cycle_key()
            request.session.pop(PENDING_SESSION_KEY, None)
            request.session[VERIFIED_SESSION_KEY] = True
            first_factor = pending.get("first_factor", "password")
            account_event_record(
                user=user, action=actions.AUTH_LOGIN, after={"method": f"{first_factor}+{method}"}
            )
            return redirect(_safe_next(request, pending.get("next") or request.GET.get("next")))
    elif request.method == "POST":
        status = 400
    return render(request, "accounts/login_code.html", {"form": form}, status=status)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def two_factor_page(request: HttpRequest) -> HttpResponse:
    """The person's own two-factor settings: set up, or regenerate codes and turn off."""
    user = _user(request)
    return _two_factor_render(
        request, user, CodeForm(recovery=False, autofocus=False), TwoFactorDisableForm()
    )


def _two_factor_render(
    request: HttpRequest,
    user: User,
    regenerate_form: CodeForm,
    disable_form: TwoFactorDisableForm,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "accounts/two_factor.html",
        {
            "two_factor_on": user.has_two_factor,
            "recovery_codes_left": len(user.recovery_code_digests),
            "regenerate_form": regenerate_form,
            "disable_form": disable_form,
            "next": request.GET.get("next", ""),
        },
        status=status,
    )


def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Scan the QR code (or type the key), then prove it with a code."""
    user = _user(request)
    if user.has_two_factor:
        return redirect("accounts:two_factor")
    secret = request.session.get(SETUP_SECRET_SESSION_KEY) or two_factor.new_secret()
    request.session[SETUP_SECRET_SESSION_KEY] = secret
    form = CodeForm(request.POST or None, recovery=False)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                codes = services.two_factor_enable(
                    user=user, secret=secret, code=form.cleaned_data["code"]
                )
            except TwoFactorRefused as wrong:
                form.add_error("code", wrong.message)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                request.session.pop(SETUP_SECRET_SESSION_KEY, None)
                request.session[VERIFIED_SESSION_KEY] = True
                request.session[CODES_SESSION_KEY] = codes
                return redirect(_with_next(reverse("accounts:recovery_codes"), request))
    uri = two_factor.provisioning_uri(secret, user.email)
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr_code": two_factor.qr_code_data_uri(uri),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "next": request.GET.get("next", ""),
        },
        status=status,
    )


def _with_next(url: str, request: HttpRequest) -> str:
    wanted = request.GET.get("next")
    if not wanted:
        return url
    return f"{url}?{urlencode({'next': _safe_next(request, wanted)})}"


def recovery_codes(request: HttpRequest) -> HttpResponse:
    """The recovery codes just made, shown once (a reload shows them no more)."""
    codes = request.session.pop(CODES_SESSION_KEY, None)
    if not codes:
        return redirect("accounts:two_factor")
    wanted = request.GET.get("next")
    return render(
        request,
        "accounts/recovery_codes.html",
        {"codes": codes, "continue_url": _safe_next(request, wanted) if wanted else ""},
    )


@require_POST
def recovery_codes_regenerate(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = CodeForm(request.POST, recovery=False, autofocus=False)
    if form.is_valid():
        try:
            codes = services.recovery_codes_regenerate(user=user, code=form.cleaned_data["code"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            request.session[CODES_SESSION_KEY] = codes
            return redirect("accounts:recovery_codes")
    return _two_factor_render(request, user, form, TwoFactorDisableForm(), status=400)


@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = TwoFactorDisableForm(request.POST)
    if form.is_valid():
        try:
            services.two_factor_disable(
                user=user,
                password=form.cleaned_data["password"],
                code=form.cleaned_data["code"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            request.session.pop(VERIFIED_SESSION_KEY, None)
            messages.success(request, "Two-factor authentication is off.")
            return redirect("accounts:two_factor")
    return _two_factor_render(
        request, user, CodeForm(recovery=False, autofocus=False), form, status=400
    )


def security_settings(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Settings → Security: the organization's two-factor requirement (for those who manage
    settings) and the member's own two-factor status."""
    tenant = organization_wide(request)
    organization = tenant.organization
    can_manage = tenant.can(MANAGE_SETTINGS)
    form = RequireTwoFactorForm(
        request.POST or None, initial={"require_two_factor": organization.require_two_factor}
    )
    status = 200
    if request.method == "POST":
        tenant.authorize(MANAGE_SETTINGS)
        status = 400
        if form.is_valid():
            try:
                services.organization_two_factor_require(
                    acting_user=_user(request),
                    organization=organization,
                    required=form.cleaned_data["require_two_factor"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, "Security settings saved.")
                return redirect("security:settings", org_slug=organization.slug)
    return render(
        request,
        "accounts/security_settings.html",
        {
            "organization": organization,
            "form": form,
            "can_manage": can_manage,
            "two_factor_on": _user(request).has_two_factor,
        },
        status=status,
    )
