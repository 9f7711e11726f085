"""Single sign-on pages: the trip to the identity provider and back, and Settings → Single
sign-on.

``sso_begin`` is called by the login page (``accounts.views.LoginView``) for an address whose
organization has SSO on; it keeps ``state``, ``nonce`` and the PKCE verifier in the session for
ten minutes. ``callback`` takes them back once (a reload or a second tab finds none), verifies
what the provider answered and signs the person in, through the two-factor code page when
their account has two-factor on. Every refusal is a page that says what happened, audited in
the organization it was for. Neither makes a provider call with a transaction open: the login
pages run outside any scope.
"""

from __future__ import annotations

import hmac
import time
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.models import User
from accounts.two_factor import PENDING_SESSION_KEY as TWO_FACTOR_PENDING_SESSION_KEY
from fastn_console.console import form_saved, organization_wide, permission_required
from roles.catalog import MANAGE_SETTINGS
from sso import oidc, selectors, services
from sso.forms import SsoConfigurationForm
from sso.oidc import OidcRefused
from sso.selectors import SsoTarget

PENDING_SESSION_KEY = "sso.pending"
PENDING_MAX_AGE_SECONDS = 600
PASSWORD_BACKEND = "django.contrib.auth.backends.ModelBackend"
START_AGAIN = "This sign-in has expired or was started in another browser. Sign in again."
# The provider could not be used (down, or answering nonsense): a gateway's failure, not the
# person's.
UPSTREAM_REASONS = frozenset({"idp_unreachable", "idp_error"})


def _redirect_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("sso:callback"))


def _refused(
    request: HttpRequest, refused: OidcRefused, *, org_id: uuid.UUID | None, email: str = ""
) -> HttpResponse:
    """The page of a refused sign-in, audited in the organization it was for (if known)."""
    if org_id is not None:
        services.sso_failure_record(org_id=org_id, reason=refused.reason, email=email)
    status = 502 if refused.reason in UPSTREAM_REASONS else 400
    return render(request, "sso/refused.html", {"message": refused.message}, status=status)


def sso_begin(
    request: HttpRequest, target: SsoTarget, *, email: str, next_url: str
) -> HttpResponse:
    """Send the person to their organization's identity provider."""
    try:
        provider = oidc.discover(target.issuer)
    except OidcRefused as refused:
        return _refused(request, refused, org_id=target.org_id, email=email)
    state, nonce, verifier = oidc.new_secret(), oidc.new_secret(), oidc.new_secret()
    request.session[PENDING_SESSION_KEY] = {
        "org": str(target.org_id),
        "email": email,
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "started": time.time(),
        "next": next_url,
    }
    return redirect(
        oidc.authorization_url(
            provider,
            client_id=target.client_id,
            redirect_uri=_redirect_uri(request),
            state=state,
            nonce=nonce,
            verifier=verifier,
            login_hint=email,
        )
    )


@login_not_required
@require_GET
def lookup(request: HttpRequest) -> JsonResponse:
    """Whether an address signs in with single sign-on (the login page's email step asks)."""
    target = selectors.sso_target_for_email(request.GET.get("email", ""))
    return JsonResponse({"sso": target is not None})


def _answer_claims(request: HttpRequest, pending: dict[str, Any], org_id: uuid.UUID) -> Any:
    """The verified claims of the provider's answer to ``pending``; ``OidcRefused`` otherwise."""
    if time.time() - float(pending.get("started", 0)) > PENDING_MAX_AGE_SECONDS:
        raise OidcRefused("expired_state", START_AGAIN)
    if not hmac.compare_digest(str(pending.get("state", "")), request.GET.get("state", "")):
        raise OidcRefused("wrong_state", START_AGAIN)
    error = request.GET.get("error")
    if error:
        said = request.GET.get("error_description") or error
        raise OidcRefused(
            "idp_refused",
            f"Your identity provider did not sign you in ({said[:200]}). "
            f"{services.ASK_ADMINISTRATOR}",
        )
    code = request.GET.get("code")
    if not code:
        raise OidcRefused("idp_error", f"The identity provider sent no code. {oidc.TRY_AGAIN}")
    client = selectors.sso_client_for(org_id)
    if client is None:
        raise OidcRefused("sso_disabled", "Single sign-on is not on for this organization.")
    target, secret = client
    provider = oidc.discover(target.issuer)
    id_token = oidc.exchange_code(
        provider,
        code=code,
        client_id=target.client_id,
        client_secret=secret,
        redirect_uri=_redirect_uri(request),
        verifier=str(pending["verifier"]),
    )
    return oidc.verify_id_token(
        provider, id_token, client_id=target.client_id, nonce=str(pending["nonce"])
    )


def _signed_in(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    if user.has_two_factor:
        # As after a right password: the session is signed in once a code is right too.
        request.session[TWO_FACTOR_PENDING_SESSION_KEY] = {
            "user": str(user.pk),
            "backend": PASSWORD_BACKEND,
            "started": time.time(),
            "next": next_url,
            "first_factor": "sso",
        }
        return redirect("accounts:login_code")
    auth_login(request, user, backend=PASSWORD_BACKEND)
    return redirect(next_url)


@login_not_required
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """Where the identity provider sends the person back, with a code or an error."""
    if request.user.is_authenticated:
        return redirect("home")
    pending = request.session.pop(PENDING_SESSION_KEY, None)
    if not isinstance(pending, dict):
        return _refused(request, OidcRefused("no_sign_in", START_AGAIN), org_id=None)
    org_id = uuid.UUID(str(pending["org"]))
    email = str(pending.get("email", ""))
    try:
        claims = _answer_claims(request, pending, org_id)
        user = services.sso_sign_in(org_id=org_id, claims=claims)
    except OidcRefused as refused:
        return _refused(request, refused, org_id=org_id, email=email)
    return _signed_in(request, user, str(pending.get("next") or reverse("home")))


@permission_required(MANAGE_SETTINGS)
def settings_page(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Settings → Single sign-on: the identity provider, its client, the role of new members,
    and whether the domain must use it."""
    organization = organization_wide(request).organization
    configuration = selectors.sso_configuration_of(organization)
    initial: dict[str, Any] = {}
    if configuration is not None:
        initial = {
            "issuer": configuration.issuer,
            "client_id": configuration.client_id,
            "default_role": configuration.default_role,
            "enabled": configuration.enabled,
            "require_sso": configuration.require_sso,
        }
    form = SsoConfigurationForm(
        request.POST or None,
        initial=initial,
        roles=selectors.default_role_choices(),
        secret_stored=configuration is not None,
    )
    user = request.user
    saved = form_saved(
        request,
        form,
        lambda: services.sso_configuration_save(
            acting_user=user, organization=organization, **form.cleaned_data
        ),
    )
    if saved is not None:
        messages.success(request, "Single sign-on settings saved.")
        return redirect("sso_settings:settings", org_slug=organization.slug)
    return render(
        request,
        "sso/settings.html",
        {
            "organization": organization,
            "form": form,
            "configuration": configuration,
            "redirect_uri": _redirect_uri(request),
        },
        status=400 if request.method == "POST" else 200,
    )
