"""What the tenancy tests of the settings' lifecycle share: two customers of one organization in
the EU database, each with its data, and what a connection holds."""

from __future__ import annotations

import pytest
from django.db import connections

from tests.factories import make_customer, make_customer_data, make_org


def settings_on(alias: str) -> tuple[str, str]:
    """The organization and customer settings ``alias``'s connection holds now."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('app.org_id', true), current_setting('app.tenant_id', true)"
        )
        return cursor.fetchone()


@pytest.fixture
def two_customers():
    org = make_org()
    mine, theirs = (
        make_customer(org, "Mine", region="eu"),
        make_customer(org, "Theirs", region="eu"),
    )
    make_customer_data(org, mine)
    make_customer_data(org, theirs)
    return org, mine, theirs
