"""Import customers in a real browser, as the demo owner: upload a CSV, read the preview with
its row errors, run it, download the result — at 1280 px and 375 px, without sideways
scrolling, its screenshots in the git-ignored ``screenshots/``."""

from __future__ import annotations

import csv
import io

import pytest
from django.conf import settings

from customers.models import Customer, Organization
from tenancy.context import ORGANIZATION, context
from tests.browser.fixtures import Console
from tests.conftest import ALL_DATABASES

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)

CSV = (
    b"external_id,name,region,labels,metadata\n"
    b'ct-eu-7,Contoso Europe,,env:prod;tier:gold,"{""crm"": ""0012""}"\n'
    b"imp-1,Initech,us,env:trial,\n"
    b"imp-2,=HYPERLINK(1),us,,\n"
    b"imp-3,Umbrella,apac,my env:prod,\n"
)


@pytest.fixture
def demo() -> Organization:
    from customers.demo import seed

    seed(log=lambda *args: None)
    with context(user_id=None):
        return Organization.objects.get(slug="acme")


def test_owner_uploads_previews_runs_and_downloads_an_import(
    console: Console, demo: Organization
) -> None:
    console.login("owner@acme.test", settings.DEMO_PASSWORD)
    page = console.page
    console.goto("/o/acme/settings/customers/")
    page.get_by_role("link", name="Import customers").click()
    page.wait_for_url("**/settings/customers/import/")
    console.shoot_checked("customers-import")

    page.get_by_role("button", name="Upload and preview").click()
    assert page.get_by_text("This field is required.").is_visible()

    page.get_by_label("CSV file").set_input_files(
        {"name": "customers.csv", "mimeType": "text/csv", "buffer": CSV}
    )
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url("**/settings/customers/import/*/")
    assert page.get_by_role("heading", name="Preview").is_visible()
    body = page.locator("main").inner_text()
    assert "would run it as a formula" in body and "“my env” contains a space" in body
    assert "Customers to update\n1" in body or "Customers to update 1" in body
    with context(org_id=demo.id, role=ORGANIZATION):
        assert not Customer.objects.filter(external_id="imp-1").exists()
    console.shoot_checked("customers-import-preview")

    page.get_by_role("button", name="Import 2 rows").click()
    assert page.get_by_role("heading", name="Result").is_visible()
    console.shoot_checked("customers-import-result")
    with context(org_id=demo.id, role=ORGANIZATION):
        assert Customer.objects.get(external_id="imp-1").labels == {"env": "trial"}
        assert Customer.objects.get(external_id="ct-eu-7").metadata == {"crm": "0012"}

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download result (CSV)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert [(row["external_id"], row["outcome"]) for row in rows] == [
        ("ct-eu-7", "updated"),
        ("imp-1", "created"),
        ("imp-2", "skipped"),
        ("imp-3", "skipped"),
    ]
    assert rows[2]["name"] == "'=HYPERLINK(1)"

    console.goto("/o/acme/settings/customers/?label=env:trial")
    assert page.get_by_role("link", name="Initech").is_visible()
    console.shoot_checked("customers-list-label-filter")
