"""Settings → Customers → Import customers (SPEC §13): upload, preview, run, progress, result.

Every page is for organization-wide members holding ``customers.create`` (the permission that
guards creating customers one by one); an import of another organization is a 404.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from customers import selectors, services
from customers.forms import CustomerImportForm
from customers.imports import COLUMNS, result_csv
from customers.models import CustomerImport, CustomerImportStatus
from fastn_console.console import get_for_tenant_or_404, organization_wide

PREVIEW_ROWS = 200
# An import creates customers: the permission that guards creating them one by one.
IMPORT_PERMISSION = "customers.create"


def _get_import_for_user(request: HttpRequest, import_id: uuid.UUID) -> CustomerImport:
    organization_wide(request).authorize(IMPORT_PERMISSION)
    return get_for_tenant_or_404(CustomerImport.objects.all(), id=import_id)


@require_http_methods(["GET", "POST"])
def customer_import(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request)
    tenant.authorize(IMPORT_PERMISSION)
    status = 200
    if request.method == "POST":
        form = CustomerImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = services.customer_import_create(
                    acting_user=request.user,
                    organization=tenant.organization,
                    filename=upload.name or "",
                    data=upload.read(),
                )
            except ValidationError as exc:
                form.add_error("file", exc)
            else:
                return redirect(
                    "customers:customer_import_detail", org_slug=org_slug, import_id=job.id
                )
        status = 400
    else:
        form = CustomerImportForm()
    return render(
        request,
        "customers/customer_import.html",
        {"form": form, "columns": COLUMNS, "imports": selectors.customer_import_list()[:10]},
        status=status,
    )


# The GET pages below take no method decorator: an id of another organization is a 404 for
# every method, as the URL-map isolation test demands.
def customer_import_detail(
    request: HttpRequest, org_slug: str, import_id: uuid.UUID
) -> HttpResponse:
    job = _get_import_for_user(request, import_id)
    return render(
        request,
        "customers/customer_import_detail.html",
        {
            "job": job,
            "progress": selectors.customer_import_progress(job),
            "error_rows": [row for row in job.rows if row["errors"]][:PREVIEW_ROWS],
            "failed_rows": [row for row in job.rows if row.get("outcome") == "failed"][
                :PREVIEW_ROWS
            ],
            "sample_rows": [row for row in job.rows if not row["errors"]][:20],
            "preview_rows": PREVIEW_ROWS,
        },
    )


@require_POST
def customer_import_run(request: HttpRequest, org_slug: str, import_id: uuid.UUID) -> HttpResponse:
    job = _get_import_for_user(request, import_id)
    try:
        job = services.customer_import_start(acting_user=request.user, customer_import=job)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        if job.status == CustomerImportStatus.DONE:
            messages.success(request, "Import finished. Download the result for every row.")
    return redirect("customers:customer_import_detail", org_slug=org_slug, import_id=job.id)


def customer_import_status(
    request: HttpRequest, org_slug: str, import_id: uuid.UUID
) -> HttpResponse:
    """What the page polls while the import runs."""
    return JsonResponse(
        selectors.customer_import_progress(_get_import_for_user(request, import_id))
    )


def customer_import_result(
    request: HttpRequest, org_slug: str, import_id: uuid.UUID
) -> HttpResponse:
    job = _get_import_for_user(request, import_id)
    response = HttpResponse(result_csv(job.rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="customer-import-{job.id}.csv"'
    return response
