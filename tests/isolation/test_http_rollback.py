"""A console request that fails after writing leaves nothing behind, in the main database and in
the customer's region database alike (SPEC §5.7: rollback on an exception or a status >= 500)."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test import Client

from tenancy.context import region_alias
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer, make_org
from tests.isolation.urls_rollback import PROBE_ACTION, PROBE_KEY

pytestmark = [
    pytest.mark.django_db(transaction=True, databases=ALL_DATABASES),
    pytest.mark.urls("tests.isolation.urls_rollback"),
]


def _count(alias: str, sql: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, [PROBE_KEY if "configuration" in sql else PROBE_ACTION])
        return int(cursor.fetchone()[0])


def _written() -> tuple[int, int]:
    audit = _count("owner", "SELECT count(*) FROM audit_auditlogentry WHERE action = %s")
    config = _count(
        region_alias("eu", login="owner"),
        "SELECT count(*) FROM dataplane_configuration WHERE key = %s",
    )
    return audit, config


@pytest.fixture
def acme() -> tuple[Client, str]:
    org = make_org("Rollback Org")
    customer = make_customer(org, "Rollback Customer", region="eu")
    client = Client(raise_request_exception=False)
    client.force_login(org.owner)
    return client, f"/o/{org.slug}/customers/{customer.id}/iso-probe/"


@pytest.mark.parametrize(("outcome", "status"), [("raise", 500), ("503", 503)])
def test_customer_page_failing_after_writing_leaves_nothing_behind(
    acme: tuple[Client, str], outcome: str, status: int
) -> None:
    client, prefix = acme
    assert client.get(f"{prefix}{outcome}/").status_code == status
    assert _written() == (0, 0)


def test_customer_page_that_succeeds_keeps_its_writes(acme: tuple[Client, str]) -> None:
    client, prefix = acme
    assert client.get(f"{prefix}ok/").status_code == 200
    assert _written() == (1, 1)


@pytest.mark.parametrize(("outcome", "status"), [("raise", 500), ("503", 503), ("ok", 200)])
def test_organization_page_rolls_back_on_5xx_only(
    acme: tuple[Client, str], outcome: str, status: int
) -> None:
    client, prefix = acme
    org_prefix = prefix.split("/customers/")[0]
    assert client.get(f"{org_prefix}/iso-probe/{outcome}/").status_code == status
    assert _written() == ((1 if status == 200 else 0), 0)
