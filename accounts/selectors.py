from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from customers.models import HIDDEN_ORGANIZATION_STATES
from roles.models import Membership, MembershipStatus


def memberships_of_current_user() -> QuerySet[Membership]:
    """The signed-in user's active memberships across organizations (the switcher)."""
    return (
        Membership.objects.of_current_user()
        .filter(status=MembershipStatus.ACTIVE)
        .exclude(org__status__in=HIDDEN_ORGANIZATION_STATES)
        .select_related("org")
        .order_by("org__name")
    )


def account_for_login_name(email: str) -> User | None:
    """The account a sign-in form names (case-insensitively), if there is one."""
    if not email.strip():
        return None
    return User.objects.filter(email__iexact=email.strip()).first()
