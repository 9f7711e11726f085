from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from dataplane.models import ExecutionStatus
from residency import selectors
from residency.forms import RelocationForm
from residency.services import relocation_start
from roles.selectors import authorize


def _org_wide_tenant(request: HttpRequest):  # type: ignore[no-untyped-def]
    tenant = request.tenant  # type: ignore[attr-defined]
    if tenant.is_customer_restricted:
        raise Http404
    return tenant


def relocate(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    tenant = _org_wide_tenant(request)
    customer = tenant.customer
    authorize(tenant.membership, "organization.manage_settings", tenant.organization, customer)
    form = RelocationForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            relocation_start(
                acting_user=request.user,
                customer=customer,
                to_region=form.cleaned_data["to_region"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Relocation started. Progress is shown below.")
            return redirect(
                "customers:customer_tab",
                org_slug=org_slug,
                customer_id=customer.id,
                tab="residency",
            )
    return render(
        request,
        "residency/relocate.html",
        {
            "customer": customer,
            "form": form,
            "relocation": selectors.latest_relocation(customer=customer),
        },
    )


def relocation_status(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> JsonResponse:
    tenant = _org_wide_tenant(request)
    authorize(tenant.membership, "customers.read", tenant.organization, tenant.customer)
    relocation = selectors.latest_relocation(customer=tenant.customer)
    return JsonResponse(selectors.relocation_status(relocation))


def organization_executions(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = _org_wide_tenant(request)
    authorize(tenant.membership, "executions.read", tenant.organization)
    status = request.GET.get("status", "")
    if status not in ExecutionStatus.values:
        status = ""
    try:
        page_number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page_number = 1
    page = selectors.organization_executions(page=page_number, per_page=50, status=status)
    from customers.models import Customer

    names = dict(
        Customer.objects.filter(id__in={log.customer_id for log in page.items}).values_list(
            "id", "name"
        )
    )
    return render(
        request,
        "residency/executions.html",
        {
            "page": page,
            "rows": [(log, names.get(log.customer_id, "")) for log in page.items],
            "status": status,
            "statuses": ExecutionStatus.choices,
        },
    )
