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
from tests.factories import client_for
from tests.roles.helpers import custom_role, in_org, member_holding
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _restricted_with_everything(world: World) -> Membership:
    broad = custom_role(world, "Customer admin", catalog.ALL_KEYS, customer_restricted=True)
    return member_holding(world, broad, "customer-admin@acme.test", customer=world.customer)


def _limits_url(world: World) -> str:
    return world.settings_url(f"billing/limits/{world.customer.id}/")


def test_a_restricted_member_with_a_broad_role_cannot_manage_billing(shared_world) -> None:
    member = _restricted_with_everything(shared_world)
    with in_org(shared_world.org):
        assert not has_permission(member, "billing.manage", shared_world.org, shared_world.customer)
        assert not has_permission(member, "billing.manage", shared_world.org)
        # What the role grants otherwise stays as it was.
        assert has_permission(member, "billing.read", shared_world.org, shared_world.customer)
        assert has_permission(member, "connections.update", shared_world.org, shared_world.customer)


def test_a_restricted_member_cannot_change_their_customers_limit_overrides(shared_world) -> None:
    client = client_for(_restricted_with_everything(shared_world).user)
    assert client.get(_limits_url(shared_world)).status_code == 403
    posted = client.post(_limits_url(shared_world), {"connections_per_customer": "9999"})
    assert posted.status_code == 403
    reset = client.post(_limits_url(shared_world), {"reset": "connections_per_customer"})
    assert reset.status_code == 403
    with in_org(shared_world.org):
        assert not CustomerLimitOverride.objects.filter(
            customer_id=shared_world.customer.id
        ).exists()


def test_the_limits_tab_offers_no_customize_button_to_them(shared_world) -> None:
    client = client_for(_restricted_with_everything(shared_world).user)
    tab = client.get(f"/o/{shared_world.org.slug}/customers/{shared_world.customer.id}/limits/")
    assert tab.status_code == 200
    assert _limits_url(shared_world) not in tab.content.decode()


def test_an_organization_wide_member_with_the_same_role_still_manages_billing(shared_world) -> None:
    broad = custom_role(shared_world, "Billing admin", catalog.ALL_KEYS)
    member = member_holding(shared_world, broad, "billing-admin@acme.test")
    with in_org(shared_world.org):
        assert has_permission(member, "billing.manage", shared_world.org, shared_world.customer)
    assert client_for(member.user).get(_limits_url(shared_world)).status_code == 200


def test_an_api_key_limited_to_selected_customers_never_manages_billing(shared_world) -> None:
    key = ApiKey(org_id=shared_world.org.id, name="Limited", prefix="p", secret_hash="h")
    limited = ApiKeyPrincipal(
        key=key,
        organization=shared_world.org,
        permissions=catalog.ALL_KEYS,
        customer_ids=frozenset({shared_world.customer.id}),
    )
    everywhere = ApiKeyPrincipal(
        key=key, organization=shared_world.org, permissions=catalog.ALL_KEYS, customer_ids=None
    )
    with in_org(shared_world.org):
        assert not has_permission(
            limited, "billing.manage", shared_world.org, shared_world.customer
        )
        assert has_permission(limited, "billing.read", shared_world.org, shared_world.customer)
        assert has_permission(everywhere, "billing.manage", shared_world.org, shared_world.customer)
