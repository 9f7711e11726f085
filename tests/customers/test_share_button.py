"""The Connections tab offers "Share a connect link" exactly to those holding connections.share."""

from __future__ import annotations

import pytest

from roles import catalog
from tests.conftest import ALL_DATABASES
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

SHARE = b"Share a connect link"


def test_operators_see_the_share_button_and_it_opens_the_share_page(shared_world: World) -> None:
    client = shared_world.client(catalog.OPERATOR)
    page = client.get(shared_world.customer_url(suffix="?tab=connections"))
    assert page.status_code == 200 and SHARE in page.content
    assert client.get(shared_world.customer_url(suffix="connections/share/")).status_code == 200


def test_viewers_do_not_see_the_share_button(shared_world: World) -> None:
    page = shared_world.client(catalog.VIEWER).get(
        shared_world.customer_url(suffix="?tab=connections")
    )
    assert page.status_code == 200 and SHARE not in page.content
