"""Connect links and embed tokens for tests, issued as the console issues them: through
``widget.services.embed_token_issue``, which records the grant every token names."""

from __future__ import annotations

from customers.models import Customer, Organization
from tenancy.context import ORGANIZATION, context
from widget import tokens
from widget.services import embed_token_issue


def issue_token(org: Organization, customer: Customer, kind: str = tokens.CONNECT_LINK) -> str:
    """A token for ``customer``'s widget, issued by the organization's owner."""
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        return embed_token_issue(
            acting_user=org.owner, organization=org, customer=customer, kind=kind
        )
