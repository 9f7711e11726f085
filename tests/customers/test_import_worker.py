"""A large import runs on a real Celery worker: the page queues it, the status polled by the
page moves, and the result lists every row."""

from __future__ import annotations

import csv
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import Customer, CustomerImport, CustomerImportStatus, Organization, Plan
from customers.services.imports import INLINE_ROWS
from roles import catalog
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.world import World

pytestmark = pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)


def test_a_large_import_runs_on_celery_with_progress(world: World, celery_worker) -> None:
    with context(org_id=world.org.id, role=ORGANIZATION):
        Organization.objects.filter(id=world.org.id).update(plan=Plan.objects.get(code="starter"))
    rows = INLINE_ROWS + 50
    lines = ["external_id,name,labels", *(f"big-{n:04},Big {n:04},batch:one" for n in range(rows))]
    upload = SimpleUploadedFile("big.csv", ("\n".join(lines) + "\n").encode(), "text/csv")
    client = world.client(catalog.OPERATOR)
    response = client.post(world.settings_url("customers/import/"), {"file": upload})
    assert response.status_code == 302
    detail = response["Location"]
    assert client.post(detail + "run/").status_code == 302
    page = client.get(detail).content.decode()
    assert 'id="import-progress"' in page and "customer_import.js" in page

    seen: list[int] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        state = client.get(detail + "status.json").json()
        seen.append(state["processed"])
        if state["finished"]:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the import did not finish: {seen[-5:]}\n{celery_worker.log_path.read_text()}")
    assert state["status"] == CustomerImportStatus.DONE and state["percent"] == 100
    assert seen == sorted(seen)
    assert state["counts"]["created"] == rows
    with context(org_id=world.org.id, role=ORGANIZATION):
        assert Customer.objects.filter(labels__contains={"batch": "one"}).count() == rows
        assert CustomerImport.objects.get().finished_at is not None
    result = list(csv.DictReader(io.StringIO(client.get(detail + "result.csv").content.decode())))
    assert len(result) == rows and {row["outcome"] for row in result} == {"created"}
    assert "Download result (CSV)" in client.get(detail).content.decode()
