"""Settings → Customers → Import customers: upload and preview write nothing, the run upserts by
external ID row by row under the plan's limit, a second run changes nothing, the result is a
download, and only members who may create customers (of this organization) get in."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditLogEntry
from customers.models import Customer, CustomerImport, CustomerImportStatus, CustomerStatus
from customers.services import (
    customer_import_create,
    customer_import_record_error,
    customer_import_run,
    customer_import_start,
)
from customers.services.imports import CHUNK_ROWS, _run_chunk
from roles import catalog
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

HEADER = "external_id,name,region,status,labels,metadata"


def _file(*lines: str, name: str = "customers.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\n".join([HEADER, *lines]) + "\n").encode(), "text/csv")


def _customers(world: World) -> dict[str, Customer]:
    with context(org_id=world.org.id, role=ORGANIZATION):
        return {c.external_id: c for c in Customer.objects.exclude(external_id=None)}


def _import(world: World, import_id: uuid.UUID) -> CustomerImport:
    with context(org_id=world.org.id, role=ORGANIZATION):
        return CustomerImport.objects.get(id=import_id)


def _upload(world: World, role: str, upload: SimpleUploadedFile):
    return world.client(role).post(world.settings_url("customers/import/"), {"file": upload})


def _import_url(job_id: uuid.UUID | str, world: World, suffix: str = "") -> str:
    return world.settings_url(f"customers/import/{job_id}/{suffix}")


def _preview(world: World, role: str, *lines: str) -> CustomerImport:
    response = _upload(world, role, _file(*lines))
    assert response.status_code == 302, response.content.decode()[:2000]
    return _import(world, uuid.UUID(response["Location"].rstrip("/").rsplit("/", 1)[-1]))


# --- permissions and isolation ---------------------------------------------------------------


def test_operator_may_open_the_import_page(shared_world: World) -> None:
    response = shared_world.client(catalog.OPERATOR).get(
        shared_world.settings_url("customers/import/")
    )
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.content.decode()
    listing = shared_world.client(catalog.OPERATOR).get(shared_world.settings_url("customers/"))
    assert "Import customers" in listing.content.decode()


@pytest.mark.parametrize("role", [catalog.VIEWER, catalog.END_USER])
def test_members_who_cannot_create_customers_cannot_import(shared_world: World, role: str) -> None:
    world = shared_world
    response = _upload(world, role, _file("crm-1,Northwind,,,,"))
    assert response.status_code in (403, 404)
    with context(org_id=world.org.id, role=ORGANIZATION):
        assert not CustomerImport.objects.exists()
    listing = world.client(catalog.VIEWER).get(world.settings_url("customers/"))
    assert "Import customers" not in listing.content.decode()


def test_viewer_cannot_open_or_run_an_import(shared_world: World) -> None:
    world = shared_world
    job = _preview(world, catalog.OWNER, "crm-1,Northwind,,,,")
    viewer = world.client(catalog.VIEWER)
    for suffix in ("", "status.json", "result.csv"):
        assert viewer.get(_import_url(job.id, world, suffix)).status_code == 403
    assert viewer.post(_import_url(job.id, world, "run/")).status_code == 403
    assert _import(world, job.id).status == CustomerImportStatus.PREVIEW


def test_an_outsiders_import_is_a_404(shared_world: World) -> None:
    world = shared_world
    job = _preview(world, catalog.OWNER, "crm-1,Northwind,,,,")
    outsider = world.outsider_client()
    for org in (world.other_org, world.org):
        url = world.url(f"settings/customers/import/{job.id}/", org)
        assert outsider.get(url).status_code == 404
        assert outsider.post(url + "run/").status_code == 404
        assert outsider.get(url + "result.csv").status_code == 404
    assert _import(world, job.id).status == CustomerImportStatus.PREVIEW


# --- upload and preview ----------------------------------------------------------------------


def test_a_refused_file_is_a_form_error_and_stores_nothing(shared_world: World) -> None:
    world = shared_world
    bad = SimpleUploadedFile("x.csv", b"id,name\n1,A\n", "text/csv")
    response = _upload(world, catalog.OWNER, bad)
    assert response.status_code == 400
    assert "Unknown column “id” in the header" in response.content.decode()
    latin = SimpleUploadedFile("x.csv", b"external_id,name\n1,Caf\xe9\n", "text/csv")
    assert "not UTF-8 text" in _upload(world, catalog.OWNER, latin).content.decode()
    with context(org_id=world.org.id, role=ORGANIZATION):
        assert not CustomerImport.objects.exists()


def test_the_preview_lists_row_errors_and_writes_no_customer(shared_world: World) -> None:
    world = shared_world
    before = _customers(world)
    job = _preview(
        world,
        catalog.OPERATOR,
        "nw-1,Northwind Traders,,,env:prod,",
        "crm-2,Contoso,us,,,",
        "crm-3,=HYPERLINK(1),,,,",
        "nw-1x,Moved,us,,,",
        "crm-5,Fresh,,suspended,,",
    )
    assert _customers(world).keys() == before.keys()
    assert job.counts == {"create": 2, "update": 1, "errors": 2, "over_limit": 0}
    page = world.client(catalog.OPERATOR).get(_import_url(job.id, world)).content.decode()
    assert "so a spreadsheet would run it as a formula" in page
    assert "A new customer is active or pending_activation." in page
    assert "Import 3 rows" in page


def test_a_region_change_is_refused_in_the_preview(shared_world: World) -> None:
    job = _preview(shared_world, catalog.OWNER, "nw-1,Northwind,us,,,")
    [row] = job.rows
    assert "moving it to us is a relocation" in row["errors"][0]


def test_the_preview_warns_when_new_customers_pass_the_plan_limit(shared_world: World) -> None:
    lines = [f"crm-{n},Customer {n},,,," for n in range(30)]
    job = _preview(shared_world, catalog.OWNER, *lines)
    assert job.counts["over_limit"] == 30 - (25 - 2)
    page = shared_world.client(catalog.OWNER).get(_import_url(job.id, shared_world))
    assert "would pass your plan's customer limit" in page.content.decode()


# --- the run ---------------------------------------------------------------------------------


def test_run_upserts_by_external_id_and_a_second_run_changes_nothing(
    shared_world: World,
) -> None:
    world = shared_world
    lines = (
        'nw-1,Northwind Traders,,,env:prod;tier:gold,"{""crm"": 7}"',
        "crm-2,Contoso,apac,pending_activation,env:trial,",
        "crm-3,,us,,,",
    )
    job = _preview(world, catalog.OPERATOR, *lines)
    client = world.client(catalog.OPERATOR)
    response = client.post(_import_url(job.id, world, "run/"))
    assert response.status_code == 302
    job = _import(world, job.id)
    assert job.status == CustomerImportStatus.DONE
    assert job.processed == 3
    assert {k: job.counts[k] for k in ("created", "updated", "skipped")} == {
        "created": 1,
        "updated": 1,
        "skipped": 1,
    }
    customers = _customers(world)
    northwind, contoso = customers["nw-1"], customers["crm-2"]
    assert northwind.id == world.customer.id and northwind.name == "Northwind Traders"
    assert northwind.labels == {"env": "prod", "tier": "gold"} and northwind.metadata == {"crm": 7}
    assert northwind.region == "eu"  # left as it was: the row named none
    assert (contoso.region, contoso.status) == ("apac", CustomerStatus.PENDING_ACTIVATION)
    assert "crm-3" not in customers

    result = client.get(_import_url(job.id, world, "result.csv"))
    assert result["Content-Type"].startswith("text/csv")
    assert "attachment" in result["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(result.content.decode())))
    assert [(r["line"], r["outcome"]) for r in rows] == [
        ("2", "updated"),
        ("3", "created"),
        ("4", "skipped"),
    ]
    assert rows[1]["customer_id"] == str(contoso.id)
    assert rows[2]["message"] == "name is empty."

    again = _preview(world, catalog.OPERATOR, *lines)
    assert again.counts["create"] == 0 and again.counts["update"] == 2
    client.post(_import_url(again.id, world, "run/"))
    again = _import(world, again.id)
    assert again.counts["unchanged"] == 2 and again.counts["created"] == 0
    assert _customers(world).keys() == customers.keys()
    with context(org_id=world.org.id, role=ORGANIZATION):
        actions = list(
            AuditLogEntry.objects.filter(action__startswith="customer.import").values_list(
                "action", flat=True
            )
        )
    assert sorted(actions) == sorted(["customer.import.start", "customer.import.finish"] * 2)


def test_running_twice_is_harmless(shared_world: World) -> None:
    world = shared_world
    job = _preview(world, catalog.OWNER, "crm-9,Nine,,,,")
    client = world.client(catalog.OWNER)
    client.post(_import_url(job.id, world, "run/"))
    client.post(_import_url(job.id, world, "run/"))
    assert _import(world, job.id).counts["created"] == 1
    assert list(_customers(world)).count("crm-9") == 1


def test_the_plan_limit_applies_row_by_row_and_leaves_nothing_half_applied(
    shared_world: World,
) -> None:
    world = shared_world
    lines = [f"crm-{n:02},Customer {n:02},,,env:bulk," for n in range(30)]
    job = _preview(world, catalog.OWNER, *lines)
    with context(org_id=world.org.id, role=ORGANIZATION, user_id=world.org.owner_id):
        customer_import_start(acting_user=world.org.owner, customer_import=job)
    job = _import(world, job.id)
    assert job.status == CustomerImportStatus.DONE
    assert (job.counts["created"], job.counts["failed"]) == (23, 7)
    failed = [row for row in job.rows if row["outcome"] == "failed"]
    assert [row["external_id"] for row in failed] == [f"crm-{n:02}" for n in range(23, 30)]
    assert failed[0]["message"] == "Customers per organization limit (25) reached on the Free plan."
    with context(org_id=world.org.id, role=ORGANIZATION):
        assert Customer.objects.live().count() == 25
        created_ids = {str(c.id) for c in Customer.objects.filter(labels__contains={"env": "bulk"})}
        audited = set(
            AuditLogEntry.objects.filter(action="customer.create").values_list(
                "target_id", flat=True
            )
        )
    assert len(created_ids) == 23 and created_ids <= {str(t) for t in audited}
    page = world.client(catalog.OWNER).get(_import_url(job.id, world)).content.decode()
    assert "Failed rows" in page and "limit (25) reached" in page


def test_an_interrupted_run_resumes_after_the_last_committed_chunk(shared_world: World) -> None:
    world = shared_world
    with context(org_id=world.org.id, role=ORGANIZATION):
        from customers.models import Organization, Plan

        Organization.objects.filter(id=world.org.id).update(plan=Plan.objects.get(code="growth"))
    rows = [f"crm-{n:03},Customer {n:03},,,," for n in range(CHUNK_ROWS + 20)]
    data = ("\n".join([HEADER, *rows]) + "\n").encode()
    with context(org_id=world.org.id, role=ORGANIZATION, user_id=world.org.owner_id):
        organization = Organization.objects.get(id=world.org.id)
        job = customer_import_create(
            acting_user=world.org.owner, organization=organization, filename="big.csv", data=data
        )
        CustomerImport.objects.filter(id=job.id).update(status=CustomerImportStatus.QUEUED)
        assert _run_chunk(job.id) == CustomerImportStatus.RUNNING  # one chunk, then "killed"
        assert CustomerImport.objects.get(id=job.id).processed == CHUNK_ROWS
        assert customer_import_run(org_id=world.org.id, import_id=job.id) == "done"
        assert customer_import_run(org_id=world.org.id, import_id=job.id) == "done"
        assert Customer.objects.filter(external_id__startswith="crm-").count() == CHUNK_ROWS + 20
    job = _import(world, job.id)
    assert job.counts["created"] == CHUNK_ROWS + 20 and job.processed == job.total_rows


def test_a_file_with_no_importable_row_cannot_be_run(shared_world: World) -> None:
    world = shared_world
    job = _preview(world, catalog.OWNER, ",No id,,,,")
    page = world.client(catalog.OWNER).get(_import_url(job.id, world)).content.decode()
    assert "No row of this file can be imported" in page
    response = world.client(catalog.OWNER).post(_import_url(job.id, world, "run/"), follow=True)
    assert "No row of this file can be imported" in response.content.decode()
    assert _import(world, job.id).status == CustomerImportStatus.PREVIEW


def test_status_json_reports_progress(shared_world: World) -> None:
    world = shared_world
    make_customer(world.org, "Existing", external_id="crm-1")
    job = _preview(world, catalog.OWNER, "crm-1,Existing,,,,")
    body = world.client(catalog.OWNER).get(_import_url(job.id, world, "status.json")).json()
    assert body["status"] == "preview" and body["total"] == 1 and body["finished"] is False


def test_a_stopped_run_is_shown_and_a_final_failure_ends_the_import(shared_world: World) -> None:
    world = shared_world
    job = _preview(world, catalog.OWNER, "crm-1,One,,,,", "crm-2,Two,,,,")
    with context(org_id=world.org.id, role=ORGANIZATION):
        CustomerImport.objects.filter(id=job.id).update(status=CustomerImportStatus.RUNNING)
    kwargs = {"org_id": world.org.id, "import_id": job.id}
    customer_import_record_error(**kwargs, error="OperationalError: server closed", final=False)
    page = world.client(catalog.OWNER).get(_import_url(job.id, world)).content.decode()
    assert "The last attempt stopped: OperationalError: server closed" in page
    assert _import(world, job.id).status == CustomerImportStatus.RUNNING
    customer_import_record_error(**kwargs, error="OperationalError: server closed", final=True)
    job = _import(world, job.id)
    assert job.status == CustomerImportStatus.FAILED and job.finished_at is not None
    page = world.client(catalog.OWNER).get(_import_url(job.id, world)).content.decode()
    assert "The import stopped before the end" in page
    result = world.client(catalog.OWNER).get(_import_url(job.id, world, "result.csv"))
    assert {row["outcome"] for row in csv.DictReader(io.StringIO(result.content.decode()))} == {
        "not run"
    }
