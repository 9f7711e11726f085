"""Roles, People, Audit Log, API Keys, Executions and Residency in a real browser, as the demo
owner: each page renders without sideways scrolling at 375 px, and a custom role is duplicated
end to end."""

from __future__ import annotations

import pytest
from django.conf import settings

from customers.models import Customer, Organization
from roles.models import Role
from tenancy.context import ORGANIZATION, context
from tests.browser.fixtures import Console
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


@pytest.fixture
def demo() -> Organization:
    from customers.demo import seed

    seed(log=lambda *args: None)
    with context(user_id=None):
        return Organization.objects.get(slug="acme")


def test_owner_pages_render_and_a_role_is_duplicated_as_custom(
    console: Console, demo: Organization
) -> None:
    page = console.page
    console.login("owner@acme.test", settings.DEMO_PASSWORD)
    with context(org_id=demo.id, role=ORGANIZATION):
        customer = Customer.objects.get(region="eu", external_id="ct-eu-7")
        developer = Role.objects.get(system_key="developer")
    pages = {
        "roles": "/o/acme/settings/roles/",
        "role-detail": f"/o/acme/settings/roles/{developer.id}/",
        "people": "/o/acme/settings/people/",
        "audit-log": "/o/acme/settings/audit/",
        "api-keys": "/o/acme/settings/api-keys/",
        "executions": "/o/acme/executions/",
        "relocate": f"/o/acme/customers/{customer.id}/residency/relocate/",
    }
    for name, path in pages.items():
        response = console.goto(path)
        assert response is not None and response.status == 200, path
        console.shoot(name)
        page.set_viewport_size({"width": 375, "height": 900})
        console.assert_no_horizontal_scroll()
        page.set_viewport_size({"width": 1280, "height": 900})

    console.goto(pages["role-detail"])
    page.get_by_role("link", name="Duplicate as Custom").first.click()
    page.get_by_role("button", name="Create copy").click()
    page.wait_for_url("**/settings/roles/**")
    console.shoot("role-duplicated")
    with context(org_id=demo.id, role=ORGANIZATION):
        copy = Role.objects.get(name="Copy of Developer")
    assert not copy.is_system
    assert sorted(copy.permissions) == sorted(developer.permissions)
