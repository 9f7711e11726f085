"""Customer-restricted principals never manage billing, whatever their role (issue 13): a member
limited to one customer but given a broad custom role could change that customer's limit
overrides. The rule lives in ``authorize``, so every caller and every template gets it."""

from __future__ import annotations

import pytest

from api.auth import ApiKeyPrincipal
from api.models import ApiKey
from customers.models import CustomerLimitOverride
from roles import catalog
from roles.models import Membership
from roles.selectors import has_permission
from tests.conftest import ALL_DATABASES
from tests.roles.conftest import Team, client_for, in_org
from tests.roles.helpers import custom_role, member_holding

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _restricted_with_everything(team: Team) -> Membership:
    broad = custom_role(team, "Customer admin", catalog.ALL_KEYS, customer_restricted=True)
    return member_holding(team, broad, "customer-admin@acme.test", customer=team.customer)


def _limits_url(team: Team) -> str:
    return team.url(f"billing/limits/{team.customer.id}/")


def test_a_restricted_member_with_a_broad_role_cannot_manage_billing(team) -> None:
    member = _restricted_with_everything(team)
    with in_org(team.org):
        assert not has_permission(member, "billing.manage", team.org, team.customer)
        assert not has_permission(member, "billing.manage", team.org)
        # What the role grants otherwise stays as it was.
        assert has_permission(member, "billing.read", team.org, team.customer)
        assert has_permission(member, "connections.update", team.org, team.customer)


def test_a_restricted_member_cannot_change_their_customers_limit_overrides(team) -> None:
    client = client_for(_restricted_with_everything(team).user)
    assert client.get(_limits_url(team)).status_code == 403
    posted = client.post(_limits_url(team), {"connections_per_customer": "9999"})
    assert posted.status_code == 403
    reset = client.post(_limits_url(team), {"reset": "connections_per_customer"})
    assert reset.status_code == 403
    with in_org(team.org):
        assert not CustomerLimitOverride.objects.filter(customer_id=team.customer.id).exists()


def test_the_limits_tab_offers_no_customize_button_to_them(team) -> None:
    client = client_for(_restricted_with_everything(team).user)
    tab = client.get(f"/o/{team.slug}/customers/{team.customer.id}/limits/")
    assert tab.status_code == 200
    assert _limits_url(team) not in tab.content.decode()


def test_an_organization_wide_member_with_the_same_role_still_manages_billing(team) -> None:
    broad = custom_role(team, "Billing admin", catalog.ALL_KEYS)
    member = member_holding(team, broad, "billing-admin@acme.test")
    with in_org(team.org):
        assert has_permission(member, "billing.manage", team.org, team.customer)
    assert client_for(member.user).get(_limits_url(team)).status_code == 200


def test_an_api_key_limited_to_selected_customers_never_manages_billing(team) -> None:
    key = ApiKey(org_id=team.org.id, name="Limited", prefix="p", secret_hash="h")
    limited = ApiKeyPrincipal(
        key=key,
        organization=team.org,
        permissions=catalog.ALL_KEYS,
        customer_ids=frozenset({team.customer.id}),
    )
    everywhere = ApiKeyPrincipal(
        key=key, organization=team.org, permissions=catalog.ALL_KEYS, customer_ids=None
    )
    with in_org(team.org):
        assert not has_permission(limited, "billing.manage", team.org, team.customer)
        assert has_permission(limited, "billing.read", team.org, team.customer)
        assert has_permission(everywhere, "billing.manage", team.org, team.customer)
