from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from customers.models import Customer, Organization
from tenancy.managers import ScopedManager


class Role(models.Model):
    """A set of catalog permission keys. System roles are immutable (a policy enforces it)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="roles")
    name = models.CharField(max_length=60)
    description = models.CharField(max_length=240, blank=True)
    is_system = models.BooleanField(default=False)
    system_key = models.CharField(max_length=20, null=True, blank=True)
    customer_restricted = models.BooleanField(default=False)
    permissions = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager["Role"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "id"], name="roles_role_org_id_uniq"),
            models.UniqueConstraint(fields=["org", "name"], name="roles_role_name_uniq"),
            models.UniqueConstraint(
                fields=["org", "system_key"],
                condition=Q(system_key__isnull=False),
                name="roles_role_system_key_uniq",
            ),
        ]
        ordering = ["-is_system", "name"]

    def __str__(self) -> str:
        return self.name


class MembershipStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DISABLED = "disabled", "Disabled"


class Membership(models.Model):
    """A user's place in an organization: one role, optionally restricted to one customer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.ForeignKey(
        Role, on_delete=models.PROTECT, db_constraint=False, related_name="memberships"
    )
    restricted_customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="restricted_memberships",
    )
    status = models.CharField(
        max_length=12, choices=MembershipStatus.choices, default=MembershipStatus.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The single sign-on identity this member is bound to (``sso.services``): the provider's
    # issuer and its ``sub`` for the person, set on their first sign-in through it. A later
    # sign-in finds the member by these, not by the address the provider shows then.
    sso_issuer = models.CharField(max_length=2048, blank=True, default="")
    sso_subject = models.CharField(max_length=255, blank=True, default="")

    objects = ScopedManager["Membership"](user_field="user_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "id"], name="roles_membership_org_id_uniq"),
            models.UniqueConstraint(fields=["org", "user"], name="roles_membership_user_uniq"),
            models.UniqueConstraint(
                fields=["org", "sso_issuer", "sso_subject"],
                condition=~models.Q(sso_subject=""),
                name="roles_membership_sso_subject_uniq",
            ),
        ]
        indexes = [models.Index(fields=["user"], name="roles_membership_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.org_id}"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REVOKED = "revoked", "Revoked"


class Invitation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.ForeignKey(
        Role, on_delete=models.CASCADE, db_constraint=False, related_name="invitations"
    )
    restricted_customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(
        max_length=12, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager["Invitation"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "id"], name="roles_invitation_org_id_uniq"),
        ]


class JoinRequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


class JoinRequest(models.Model):
    """Someone whose email domain an organization already holds asked to join it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="join_requests")
    email = models.EmailField()
    full_name = models.CharField(max_length=150, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    signup_application_id = models.UUIDField(null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=JoinRequestStatus.choices, default=JoinRequestStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager["JoinRequest"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "id"], name="roles_joinrequest_org_id_uniq"),
        ]
