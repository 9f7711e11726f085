"""The organization-wide executions page is bounded whatever page number or size it is asked
for: sizes stay within ``MAX_PER_PAGE``, pages within the last one, and no region is ever asked
for more than ``MAX_MERGED_ROWS`` rows."""

from __future__ import annotations

import re

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from dataplane import selectors
from dataplane.models import ExecutionLog
from tenancy.context import ORGANIZATION, context, region_alias
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import client_for
from tests.factories import make_customer, make_org

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
REGIONS = ("us", "eu", "apac")


@pytest.fixture
def org_with_executions():
    org = make_org("Acme")
    for index, region in enumerate(REGIONS):
        customer = make_customer(org, f"C-{region}", region=region)
        with context(org_id=org.id, customer_id=customer.id):
            ExecutionLog.objects.bulk_create(
                ExecutionLog(
                    org_id=org.id, customer_id=customer.id, status="completed", message=f"{n}"
                )
                for n in range(40 + index)
            )
    return org  # 123 executions


def _limits(queries: list[dict[str, str]]) -> list[int]:
    return [int(n) for query in queries for n in re.findall(r"LIMIT (\d+)", query["sql"])]


@pytest.mark.parametrize("page", ["999999999999999999999", str(10**30), "3", "1e9", "-5", "x"])
def test_any_page_number_gives_a_page_within_bounds(org_with_executions, page) -> None:
    org = org_with_executions
    aliases = {region_alias(region) for region in REGIONS}
    captured = [CaptureQueriesContext(connections[alias]) for alias in aliases]
    for capture in captured:
        capture.__enter__()
    try:
        response = client_for(org.owner).get(f"/o/{org.slug}/executions/", {"page": page})
    finally:
        for capture in captured:
            capture.__exit__(None, None, None)
    assert response.status_code == 200
    shown = response.context["page"]
    assert 1 <= shown.number <= shown.num_pages == 3
    assert len(shown.items) == (23 if shown.number == 3 else 50)
    limits = [n for capture in captured for n in _limits(capture.captured_queries)]
    assert limits and max(limits) <= selectors.MAX_MERGED_ROWS


def test_a_page_past_the_end_shows_the_last_page(org_with_executions) -> None:
    response = client_for(org_with_executions.owner).get(
        f"/o/{org_with_executions.slug}/executions/", {"page": "10"}
    )
    page = response.context["page"]
    assert (page.number, len(page.items), page.has_next) == (3, 23, False)


@pytest.mark.parametrize("per_page", [0, -1, 10**9])
def test_the_selector_bounds_the_page_size(org_with_executions, per_page) -> None:
    with context(org_id=org_with_executions.id, role=ORGANIZATION):
        page = selectors.organization_executions(page=1, per_page=per_page)
    assert 1 <= page.per_page <= selectors.MAX_PER_PAGE
    assert len(page.items) == min(page.per_page, 123)


def test_deep_pages_stop_at_the_newest_rows_the_merge_may_read(org_with_executions, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_MERGED_ROWS", 60)
    with context(org_id=org_with_executions.id, role=ORGANIZATION):
        page = selectors.organization_executions(page=10**12, per_page=25)
    assert (page.number, page.num_pages, page.total, page.truncated) == (2, 2, 123, True)
    assert len(page.items) == 25
