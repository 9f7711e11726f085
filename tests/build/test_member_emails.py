"""Build pages name who saved a version by the rule of every page: the email only to those who
may see people (organization.manage_members), else the name or nothing."""

from __future__ import annotations

import pytest

from roles import catalog
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import client_for, make_connector

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.mark.parametrize("role", [catalog.VIEWER, catalog.OPERATOR, catalog.DEVELOPER])
def test_readers_of_connectors_do_not_see_who_saved_a_version_by_email(shared_world, role) -> None:
    org = shared_world.org
    connector = make_connector(org, deploy_prod=False)
    client = client_for(shared_world.user(role))
    base = f"/o/{org.slug}/build/connectors/{connector.id}/"
    for url in (base, base + "versions/1/"):
        page = client.get(url)
        assert page.status_code == 200
        assert org.owner.email not in page.content.decode()


def test_people_managers_see_the_email(shared_world) -> None:
    org = shared_world.org
    connector = make_connector(org, deploy_prod=False)
    page = client_for(shared_world.user(catalog.ADMIN)).get(
        f"/o/{org.slug}/build/connectors/{connector.id}/versions/1/"
    )
    assert org.owner.email in page.content.decode()
