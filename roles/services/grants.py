"""Which guardian groups hold which grants, and which users sit in them.

Grants live in one guardian Group per (organization, role); these functions are the only code
that changes them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from guardian.models import GroupObjectPermission

from customers.models import Organization
from roles import catalog
from roles.models import Role
from roles.selectors import role_group_name_of


def role_group_name(role: Role) -> str:
    return role_group_name_of(org_id=role.org_id, role_id=role.id)


def _role_group(role: Role) -> Group:
    group, _ = Group.objects.get_or_create(name=role_group_name(role))
    return group


def role_sync_grants(*, role: Role) -> Group:
    """Make the role's group hold exactly the role's permissions on its organization."""
    group = _role_group(role)
    content_type = ContentType.objects.get_for_model(Organization)
    object_pk = str(role.org_id)
    codenames = {catalog.codename(key) for key in set(role.permissions) & catalog.ALL_KEYS}
    GroupObjectPermission.objects.filter(
        group=group, content_type=content_type, object_pk=object_pk
    ).delete()
    # One bulk insert instead of guardian's assign_perm per key: a new organization syncs six
    # roles, and the per-key round trips dominated its creation.
    GroupObjectPermission.objects.bulk_create(
        GroupObjectPermission(
            group=group, permission=permission, content_type=content_type, object_pk=object_pk
        )
        for permission in Permission.objects.filter(
            content_type=content_type, codename__in=codenames
        )
    )
    return group


def move_between_groups(user: Any, old: Role | None, new: Role | None) -> None:
    """Take ``user`` out of ``old``'s group and into ``new``'s (either may be ``None``)."""
    if old is not None:
        _role_group(old).user_set.remove(user)
    if new is not None:
        _role_group(new).user_set.add(user)


def membership_groups_leave(memberships: Any) -> int:
    """Delete ``memberships`` (a queryset), taking each user out of their role's group first.

    For purges, which remove whole customers or organizations: no audit row per member.
    """
    count = 0
    for membership in memberships.select_related("role"):
        group = Group.objects.filter(name=role_group_name(membership.role)).first()
        if group is not None:
            group.user_set.remove(membership.user_id)
        membership.delete()
        count += 1
    return count
