"""The executions lists and Replay in a real browser, as the demo owner: filter the
organization-wide Executions page by workflow, status, environment and time with the plain GET
form (no JavaScript needed), page on with the filters kept, open a failed run and replay it — at
1280 px and 375 px, without sideways scrolling, with the screenshots kept."""

from __future__ import annotations

from typing import Any

import pytest

from customers.models import Customer, Organization
from dataplane.models import ExecutionLog, ExecutionStatus, Workflow
from tenancy.context import ORGANIZATION, context
from tests.browser.fixtures import DOCUMENTED_SCREENSHOTS, Console
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


@pytest.fixture
def demo() -> tuple[Organization, Customer, ExecutionLog]:
    """The demo, with one failed run of Contoso Europe's first workflow recorded as version 1
    in test (demo runs predate versions in the log)."""
    from customers.demo import seed

    seed(log=lambda *args: None)
    with context(user_id=None):
        acme = Organization.objects.get(slug="acme")
    with context(org_id=acme.id, role=ORGANIZATION):
        customer = Customer.objects.get(external_id="ct-eu-7")
    with context(org_id=acme.id, customer_id=customer.id, role=ORGANIZATION):
        workflow = Workflow.objects.order_by("created_at", "id").first()
        failure = ExecutionLog.objects.filter(
            workflow=workflow, status=ExecutionStatus.FAILED
        ).first()
        assert failure is not None
        ExecutionLog.objects.filter(id=failure.id).update(version=1, environment="test")
    return acme, customer, failure


def test_owner_filters_the_executions_and_replays_a_failed_run(
    console: Console, demo: tuple[Organization, Customer, ExecutionLog], settings: Any
) -> None:
    acme, customer, failure = demo
    console.login("owner@acme.test", settings.DEMO_PASSWORD)
    page = console.page
    console.goto("/o/acme/executions/")
    assert page.get_by_role("columnheader", name="Workflow").is_visible()
    page.get_by_label("Status").select_option("failed")
    page.get_by_label("Environment").select_option("test")
    page.get_by_label("Time").select_option("30d")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/executions/?*environment=test*")
    assert "status=failed" in page.url and "period=30d" in page.url
    rows = page.locator("table.responsive tbody tr")
    assert rows.count() == 1  # only the run recorded in test
    assert page.get_by_label("Environment").input_value() == "test"
    console.shoot_checked("executions-filters", folder=DOCUMENTED_SCREENSHOTS)

    # Contoso's tab pages by 25: its 26 runs of the last two weeks make two pages, and the
    # second keeps the filter.
    console.goto(f"/o/acme/customers/{customer.id}/executions/?period=30d")
    page.get_by_role("link", name="Next").click()
    page.wait_for_url("**/executions/?period=30d&page=2")
    assert page.locator("table.responsive tbody tr").count() == 1
    assert page.get_by_label("Time").input_value() == "30d"

    rows_url = f"/o/acme/customers/{customer.id}/executions/?environment=test&period=all"
    console.goto(rows_url)
    page.locator("table.responsive tbody tr").first.get_by_role("link").click()
    page.wait_for_url(f"**/executions/{failure.id}/")
    replay = page.get_by_role("button", name="Replay version 1 in test")
    assert replay.is_visible()
    console.shoot_checked("execution-replayable", folder=DOCUMENTED_SCREENSHOTS)
    replay.click()
    page.wait_for_url("**/executions/*/")
    assert str(failure.id) not in page.url
    assert page.get_by_text("Run queued: version 1 in test.").is_visible()
    assert page.get_by_text("Replay of").is_visible()
    console.shoot_checked("execution-replay", folder=DOCUMENTED_SCREENSHOTS)
    with context(org_id=acme.id, customer_id=customer.id, role=ORGANIZATION):
        replayed = ExecutionLog.objects.get(replay_of_id=failure.id)
    assert (replayed.version, replayed.environment, replayed.trigger) == (1, "test", "manual")
