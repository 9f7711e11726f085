"""Invitations by email and join requests: the two ways into an organization (SPEC §4, §5.7).

Emails are queued with ``tenancy.on_commit``, so a rolled-back invitation sends nothing.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from audit import actions
from audit.services import audit_record
from customers.models import Customer, Organization
from roles import catalog
from roles.models import (
    Invitation,
    InvitationStatus,
    JoinRequest,
    JoinRequestStatus,
    Membership,
    Role,
)
from roles.selectors import (
    INVITATION_MAX_AGE_SECONDS,
    invitation_link_ids,
    invitation_link_read,
    invitation_token,
)
from roles.services.checks import (
    acting_member,
    audit_row,
    customer_label,
    organization_of,
    refuse_role_assignment,
    refuse_unrestricted,
)
from roles.services.memberships import membership_create
from tenancy.context import ORGANIZATION, context, on_commit

logger = logging.getLogger(__name__)


# --- Invitations ----------------------------------------------------------------------------


def _invitation_state(invitation: Invitation) -> dict[str, Any]:
    return {
        "email": invitation.email,
        "role": invitation.role.name,
        "customer": customer_label(invitation.restricted_customer),
        "status": invitation.status,
    }


def _send_invitation_email(
    invitation: Invitation, organization: Organization, link_base: str
) -> None:
    """Queue the email for after the commit, so a rolled-back invitation sends nothing."""
    token = invitation_token(invitation)
    link = link_base.rstrip("/") + reverse("invitations:accept", kwargs={"token": token})
    context_data = {
        "organization": organization,
        "invitation": invitation,
        "inviter": invitation.invited_by,
        "link": link,
        "days": INVITATION_MAX_AGE_SECONDS // 86400,
    }
    subject = f"You are invited to join {organization.name} on Fastn Console"
    body = render_to_string("roles/invitation_email.txt", context_data)
    recipient = invitation.email

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
        except (OSError, smtplib.SMTPException):
            logger.exception("Could not send the invitation email to %s", recipient)

    on_commit(send)


def invitation_create(
    *,
    acting_user: Any,
    organization: Organization,
    email: str,
    role: Role,
    restricted_customer: Customer | None = None,
    link_base: str,
) -> Invitation:
    with acting_member(acting_user, organization, catalog.MANAGE_MEMBERS) as actor:
        email = email.strip().lower()
        refuse_role_assignment(actor, role)
        refuse_unrestricted(role, restricted_customer)
        if Membership.objects.filter(user__email__iexact=email).exists():
            raise ValidationError({"email": f"{email} is already a member."})
        if Invitation.objects.filter(email__iexact=email, status=InvitationStatus.PENDING).exists():
            raise ValidationError(
                {"email": f"{email} already has a pending invitation; resend it instead."}
            )
        now = timezone.now()
        invitation = Invitation.objects.create(
            org=organization,
            email=email,
            role=role,
            restricted_customer=restricted_customer,
            invited_by=acting_user,
            expires_at=now + timedelta(seconds=INVITATION_MAX_AGE_SECONDS),
            sent_at=now,
        )
        audit_row(
            acting_user, actions.INVITATION_CREATE, invitation, after=_invitation_state(invitation)
        )
        _send_invitation_email(invitation, organization, link_base)
    return invitation


def _require_pending(invitation: Invitation) -> None:
    if invitation.status != InvitationStatus.PENDING:
        raise ValidationError(f"This invitation is {invitation.get_status_display().lower()}.")


def invitation_resend(*, acting_user: Any, invitation: Invitation, link_base: str) -> Invitation:
    """A fresh link, valid for another full period."""
    organization = organization_of(invitation)
    with acting_member(acting_user, organization, catalog.MANAGE_MEMBERS) as actor:
        _require_pending(invitation)
        refuse_role_assignment(actor, invitation.role, field=None)
        before = {"expires_at": invitation.expires_at.isoformat()}
        now = timezone.now()
        invitation.expires_at = now + timedelta(seconds=INVITATION_MAX_AGE_SECONDS)
        invitation.sent_at = now
        invitation.save(update_fields=["expires_at", "sent_at"])
        audit_row(
            acting_user,
            actions.INVITATION_RESEND,
            invitation,
            before=before,
            after={"email": invitation.email, "expires_at": invitation.expires_at.isoformat()},
        )
        _send_invitation_email(invitation, organization, link_base)
    return invitation


def invitation_revoke(*, acting_user: Any, invitation: Invitation) -> Invitation:
    with acting_member(acting_user, organization_of(invitation), catalog.MANAGE_MEMBERS):
        _require_pending(invitation)
        before = _invitation_state(invitation)
        invitation.status = InvitationStatus.REVOKED
        invitation.save(update_fields=["status"])
        audit_row(
            acting_user,
            actions.INVITATION_REVOKE,
            invitation,
            before=before,
            after=_invitation_state(invitation),
        )
    return invitation


def invitation_accept(
    *,
    token: str,
    user: Any = None,
    new_account: dict[str, str] | None = None,
) -> Membership:
    """Accept the invitation a signed link names, as ``user`` or as a new account.

    The link's signature is what allows entering the organization's scope here. The signed-in
    user's email must be the invited address; a new account takes that address.
    """
    link = invitation_link_read(token)
    org_id, invitation_id = invitation_link_ids(token)
    email = link.invitation.email
    if user is not None and user.email.lower() != email.lower():
        raise ValidationError(f"This invitation is for {email}; you are signed in as {user.email}.")
    with context(org_id=org_id, role=ORGANIZATION, user_id=getattr(user, "pk", None)):
        if user is None:
            if new_account is None:
                raise ValidationError("Sign in or create an account to accept.")
            if get_user_model().objects.filter(email__iexact=email).exists():
                raise ValidationError("An account with this email exists; sign in to accept.")
            user = get_user_model().objects.create_user(
                email=email,
                password=new_account["password"],
                full_name=new_account.get("full_name", "").strip(),
            )
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("role", "restricted_customer")
            .get(id=invitation_id)
        )
        _require_pending(invitation)
        if Membership.objects.filter(user_id=user.pk).exists():
            raise ValidationError(f"You are already a member of {link.organization.name}.")
        membership = membership_create(
            organization=link.organization,
            user=user,
            role=invitation.role,
            restricted_customer=invitation.restricted_customer,
            acting_user=user,
        )
        invitation.status = InvitationStatus.ACCEPTED
        invitation.save(update_fields=["status"])
        audit_row(
            user,
            actions.INVITATION_ACCEPT,
            invitation,
            before={"status": InvitationStatus.PENDING},
            after=_invitation_state(invitation),
        )
    return membership


# --- Join requests --------------------------------------------------------------------------


def _join_request_state(join_request: JoinRequest) -> dict[str, Any]:
    return {
        "email": join_request.email,
        "name": join_request.full_name,
        "status": join_request.status,
    }


def _require_pending_request(join_request: JoinRequest) -> None:
    if join_request.status != JoinRequestStatus.PENDING:
        raise ValidationError(f"This request is {join_request.get_status_display().lower()}.")


def join_request_accept(
    *,
    acting_user: Any,
    join_request: JoinRequest,
    role: Role,
    restricted_customer: Customer | None = None,
    link_base: str,
) -> JoinRequest:
    """Admit the requester with ``role``. Someone without an account yet gets an invitation
    with that role instead, so they choose their own password."""
    organization = organization_of(join_request)
    with acting_member(acting_user, organization, catalog.MANAGE_MEMBERS) as actor:
        _require_pending_request(join_request)
        refuse_role_assignment(actor, role)
        refuse_unrestricted(role, restricted_customer)
        user = (
            join_request.user
            or get_user_model().objects.filter(email__iexact=join_request.email).first()
        )
        before = _join_request_state(join_request)
        join_request.status = JoinRequestStatus.ACCEPTED
        join_request.save(update_fields=["status"])
        after = {
            **_join_request_state(join_request),
            "role": role.name,
            "customer": customer_label(restricted_customer),
        }
        audit_record(
            actor=acting_user,
            action=actions.JOIN_REQUEST_ACCEPT,
            target_type="join_request",
            target_id=join_request.id,
            subject_customer_id=restricted_customer.id if restricted_customer else None,
            before=before,
            after=after,
        )
        if user is None:
            invitation_create(
                acting_user=acting_user,
                organization=organization,
                email=join_request.email,
                role=role,
                restricted_customer=restricted_customer,
                link_base=link_base,
            )
        elif not Membership.objects.filter(user_id=user.pk).exists():
            membership_create(
                organization=organization,
                user=user,
                role=role,
                restricted_customer=restricted_customer,
                acting_user=acting_user,
            )
    return join_request


def join_request_decline(*, acting_user: Any, join_request: JoinRequest) -> JoinRequest:
    with acting_member(acting_user, organization_of(join_request), catalog.MANAGE_MEMBERS):
        _require_pending_request(join_request)
        before = _join_request_state(join_request)
        join_request.status = JoinRequestStatus.DECLINED
        join_request.save(update_fields=["status"])
        audit_record(
            actor=acting_user,
            action=actions.JOIN_REQUEST_DECLINE,
            target_type="join_request",
            target_id=join_request.id,
            before=before,
            after=_join_request_state(join_request),
        )
    return join_request
