"""Settings → Roles and Settings → People, and the public invitation link (SPEC §4, §9).

``roles`` holds the role pages, ``people`` the members, join requests and ownership transfer,
``invitations`` the invitations and the link that accepts one; ``common`` what they share.
"""

from roles.views.invitations import (
    invitation_accept,
    invitation_create,
    invitation_list,
    invitation_resend,
    invitation_revoke,
)
from roles.views.people import (
    join_request_accept,
    join_request_decline,
    join_request_list,
    membership_remove,
    membership_role,
    ownership_transfer,
    people,
)
from roles.views.roles import (
    role_create,
    role_delete,
    role_detail,
    role_duplicate,
    role_edit,
    role_list,
)

__all__ = [
    "invitation_accept",
    "invitation_create",
    "invitation_list",
    "invitation_resend",
    "invitation_revoke",
    "join_request_accept",
    "join_request_decline",
    "join_request_list",
    "membership_remove",
    "membership_role",
    "ownership_transfer",
    "people",
    "role_create",
    "role_delete",
    "role_detail",
    "role_duplicate",
    "role_edit",
    "role_list",
]
