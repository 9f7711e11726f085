"""Roles, memberships, invitations and their django-guardian grants (SPEC §4).

Every write takes ``acting_user``, checks its permission key and the Owner rules
(``checks.acting_member``), writes an audit row in the same transaction and queues email with
``tenancy.on_commit``. By concern:

- ``grants``: one guardian Group per (organization, role); the only code that changes which
  groups hold which grants and which users sit in them.
- ``roles``: the system roles of a new organization, custom roles.
- ``memberships``: members' roles, removal, the ownership transfer.
- ``invitations``: invitations by email and join requests.

Import the functions from ``roles.services``.
"""

from roles.services.grants import (
    membership_groups_leave,
    role_group_name,
    role_sync_grants,
)
from roles.services.invitations import (
    invitation_accept,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    join_request_accept,
    join_request_decline,
)
from roles.services.memberships import (
    membership_create,
    membership_remove,
    membership_role_change,
    organization_ownership_transfer,
)
from roles.services.roles import (
    role_create,
    role_delete,
    role_duplicate,
    role_duplicate_name,
    role_update,
    roles_create_system,
)

__all__ = [
    "invitation_accept",
    "invitation_create",
    "invitation_resend",
    "invitation_revoke",
    "join_request_accept",
    "join_request_decline",
    "membership_create",
    "membership_groups_leave",
    "membership_remove",
    "membership_role_change",
    "organization_ownership_transfer",
    "role_create",
    "role_delete",
    "role_duplicate",
    "role_duplicate_name",
    "role_group_name",
    "role_sync_grants",
    "role_update",
    "roles_create_system",
]
