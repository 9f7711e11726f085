"""An organization's single sign-on with OpenID Connect (SPEC §14).

One row per organization, organization-level and seen by organization-wide principals only
(row-level security, ``restrict='all'``): the sign-in flow enters the organization's scope
once the address's verified email domain has named the organization.
"""

from __future__ import annotations

import uuid

from django.db import models

from customers.models import Organization
from roles.models import Role
from tenancy.managers import ScopedManager


class SsoConfiguration(models.Model):
    """The organization's identity provider and what a first sign-in through it grants."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # The provider's issuer URL; its discovery document is at
    # ``<issuer>/.well-known/openid-configuration`` (``sso.oidc``).
    issuer = models.CharField(max_length=2048)
    client_id = models.CharField(max_length=255)
    # Encrypted with FIELD_ENCRYPTION_KEYS (``dataplane.encryption``); never shown again.
    client_secret_encrypted = models.TextField()
    enabled = models.BooleanField(default=False)
    # Password sign-in is refused for addresses at the organization's domain.
    require_sso = models.BooleanField(default=False)
    # The role of a member that a first sign-in creates (never Owner, never customer-limited).
    # A deleted role leaves none: new people are refused until one is chosen again.
    default_role = models.ForeignKey(
        Role,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager["SsoConfiguration"]()

    class Meta:
        constraints = [
            # One per organization, checked at commit: within a statement the composite key
            # on (org_id, default_role_id) speaks first, so a row copied to point at another
            # organization's role is refused for that (tests/isolation/test_composite_keys.py).
            models.UniqueConstraint(
                fields=["org"],
                name="sso_configuration_one_per_org",
                deferrable=models.Deferrable.DEFERRED,
            ),
        ]

    def __str__(self) -> str:
        return self.issuer
