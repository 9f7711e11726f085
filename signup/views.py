"""Public signup pages (SPEC §8): the form, the status page and its poll, the confirmation."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods, require_POST

from fastn_console.throttle import (
    SIGNUP_CONFIRM,
    SIGNUP_PER_EMAIL,
    SIGNUP_PER_IP,
    SIGNUP_RESEND,
    by_address,
    by_ip,
    throttle_hit,
)
from signup import selectors, services
from signup.forms import SignupConfirmForm, SignupForm
from signup.models import SignupApplication

POLL_INTERVAL_MS = 1500


def _get_application_for_request(request: HttpRequest, token: str) -> SignupApplication:
    """The application whose status token is ``token``; 404 for anything else."""
    application = selectors.application_for_status_token(token)
    if application is None:
        raise Http404("No such signup.")
    return application


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


@login_not_required
@require_http_methods(["GET", "POST"])
def signup_form(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        refused = throttle_hit(
            by_ip(SIGNUP_PER_IP, request), by_address(SIGNUP_PER_EMAIL, data["email"])
        )
        if refused is not None:
            form.add_error(None, refused.message)
            return refused.refuse(render(request, "signup/signup_form.html", {"form": form}))
        application = services.signup_application_create(
            full_name=data["full_name"],
            email=data["email"],
            company_name=data["company_name"],
            company_website=data["company_website"],
            password_hash=data["password_hash"],
            base_url=_base_url(request),
        )
        return redirect("signup:status", token=application.status_token)
    return render(request, "signup/signup_form.html", {"form": form})


@login_not_required
@require_http_methods(["GET"])
def signup_status(request: HttpRequest, token: str) -> HttpResponse:
    application = _get_application_for_request(request, token)
    context = {
        "application": application,
        "view": selectors.status_view(application),
        "poll_interval_ms": POLL_INTERVAL_MS,
    }
    return _private(render(request, "signup/status.html", context))


@login_not_required
@require_http_methods(["GET"])
def signup_status_poll(request: HttpRequest, token: str) -> HttpResponse:
    """The status page's progress block, for its few lines of polling JavaScript."""
    application = _get_application_for_request(request, token)
    view = selectors.status_view(application)
    html = render_to_string(
        "signup/_progress.html", {"application": application, "view": view}, request=request
    )
    return _private(JsonResponse({"status": application.status, "final": view.final, "html": html}))


@login_not_required
@require_POST
def signup_resend(request: HttpRequest, token: str) -> HttpResponse:
    application = _get_application_for_request(request, token)
    refused = throttle_hit((SIGNUP_RESEND, str(application.id)))
    if refused is not None:
        messages.error(request, refused.message)
    elif services.signup_confirmation_resend(application=application, base_url=_base_url(request)):
        messages.success(request, f"We sent the confirmation link to {application.email} again.")
    else:
        messages.info(request, "The link was sent less than a minute ago; check your inbox.")
    return redirect("signup:status", token=application.status_token)


@login_not_required
@require_http_methods(["GET", "POST"])
def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button and POST confirms, so mail scanners that open links confirm nothing."""
    try:
        application_id = services.application_id_from_token(
            token, max_age=settings.SIGNUP_CONFIRM_MAX_AGE_SECONDS
        )
    except signing.SignatureExpired:
        expired_id = services.application_id_from_token(token, max_age=None)
        application = SignupApplication.objects.filter(id=expired_id).first()
        if application is None:
            raise Http404("No such signup.") from None
        return _private(
            render(
                request,
                "signup/confirm.html",
                {"application": application, "expired": True},
                status=410,
            )
        )
    except signing.BadSignature:
        raise Http404("No such signup.") from None
    application = SignupApplication.objects.filter(id=application_id).first()
    if application is None:
        raise Http404("No such signup.")
    form = SignupConfirmForm(
        request.POST if request.method == "POST" else None,
        password_hash=application.password_hash,
    )
    if request.method == "POST" and not application.email_confirmed_at:
        refused = throttle_hit((SIGNUP_CONFIRM, str(application.id)))
        if refused is not None:
            form.add_error(None, refused.message)
        elif form.is_valid():
            application = services.signup_email_confirm(application_id=application.id)
            return redirect("signup:status", token=application.status_token)
    page = render(request, "signup/confirm.html", {"application": application, "form": form})
    return _private(page)
