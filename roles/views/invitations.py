"""Settings → People → Invitations, and the public invitation link (SPEC §4, §5.7)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from fastn_console.console import button_action, form_saved, organization_wide
from roles import catalog, selectors, services
from roles.forms import InvitationForm, InvitationLoginForm, InvitationSignupForm
from roles.models import Invitation, InvitationStatus, Membership
from roles.views.common import get_invitation_for_user, link_base, membership_home, person_form
from roles.views.people import status_list_page


def invitation_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request, catalog.MANAGE_MEMBERS)
    form = InvitationForm(request.POST or None, roles=selectors.assignable_roles(tenant.membership))
    invitation = form_saved(
        request,
        form,
        lambda: services.invitation_create(
            acting_user=request.user,
            organization=tenant.organization,
            email=form.cleaned_data["email"],
            link_base=link_base(request),
            **form.assignment(),
        ),
    )
    if invitation is not None:
        messages.success(request, f"Invitation sent to {invitation.email}.")
        return redirect("roles:invitation_list", org_slug=org_slug)
    return person_form(
        request,
        form,
        title="Invite user",
        intro="They get an email with a link that is valid for 7 days.",
        submit="Send invitation",
    )


def invitation_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    return status_list_page(
        request,
        template="roles/invitation_list.html",
        tab="invitations",
        statuses=InvitationStatus,
        default=InvitationStatus.PENDING,
        rows=selectors.invitation_list,
    )


def _managed_invitation(request: HttpRequest, invitation_id: uuid.UUID) -> Invitation:
    invitation = get_invitation_for_user(request, invitation_id)
    organization_wide(request, catalog.MANAGE_MEMBERS)
    return invitation


@require_POST
def invitation_resend(
    request: HttpRequest, org_slug: str, invitation_id: uuid.UUID
) -> HttpResponse:
    invitation = _managed_invitation(request, invitation_id)
    return button_action(
        request,
        lambda: services.invitation_resend(
            acting_user=request.user, invitation=invitation, link_base=link_base(request)
        ),
        done=f"Sent a new link to {invitation.email}.",
        then="roles:invitation_list",
        org_slug=org_slug,
    )


@require_POST
def invitation_revoke(
    request: HttpRequest, org_slug: str, invitation_id: uuid.UUID
) -> HttpResponse:
    invitation = _managed_invitation(request, invitation_id)
    return button_action(
        request,
        lambda: services.invitation_revoke(acting_user=request.user, invitation=invitation),
        done=f"Revoked the invitation to {invitation.email}.",
        then="roles:invitation_list",
        org_slug=org_slug,
    )


# --- The public invitation link ---------------------------------------------------------------


@login_not_required
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Accept an invitation: as the signed-in invitee, with the invitee's existing password, or
    by creating the account. Expired, revoked and used links say so."""
    user = request.user if request.user.is_authenticated else None
    try:
        link = selectors.invitation_link_read(token, user_id=getattr(user, "pk", None))
    except selectors.InvitationLinkError as error:
        status = 404 if isinstance(error, selectors.InvitationLinkInvalid) else 410
        return render(
            request, "roles/invitation_unusable.html", {"reason": str(error)}, status=status
        )
    invitation = link.invitation
    has_account = get_user_model().objects.filter(email__iexact=invitation.email).exists()
    context: dict[str, Any] = {
        "organization": link.organization,
        "invitation": invitation,
        "wrong_user": user is not None and user.email.lower() != invitation.email.lower(),
        "has_account": has_account,
    }
    form: Form | None = None
    if user is None:
        form = (
            InvitationLoginForm(request.POST or None)
            if has_account
            else InvitationSignupForm(request.POST or None, email=invitation.email)
        )
    if request.method == "POST" and not context["wrong_user"]:
        membership = _accept_posted(request, token, user, form, invitation.email)
        if membership is not None:
            messages.success(request, f"Welcome to {link.organization.name}.")
            return membership_home(membership)
    context["form"] = form
    return render(request, "roles/invitation_accept.html", context)


def _accept_posted(
    request: HttpRequest, token: str, user: Any, form: Form | None, email: str
) -> Membership | None:
    new_account = None
    if form is not None:
        if not form.is_valid():
            return None
        if isinstance(form, InvitationLoginForm):
            user = authenticate(request, username=email, password=form.cleaned_data["password"])
            if user is None:
                form.add_error("password", "That password does not match this account.")
                return None
        else:
            new_account = {
                "password": form.cleaned_data["password1"],
                "full_name": form.cleaned_data["full_name"],
            }
    try:
        membership = services.invitation_accept(token=token, user=user, new_account=new_account)
    except (ValidationError, selectors.InvitationLinkError) as error:
        message = " ".join(getattr(error, "messages", [str(error)]))
        if form is not None:
            form.add_error(None, message)
        else:
            messages.error(request, message)
        return None
    if request.user != membership.user:
        login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
    return membership
