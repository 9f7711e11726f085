from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from customers.models import Customer
from dataplane.execution_filters import ExecutionFilters, organization_workflow_choices
from dataplane.selectors import executions_with_workflows
from dataplane.selectors import organization_executions as merged_executions
from fastn_console.console import add_service_errors, customer_of, organization_wide
from residency import selectors
from residency.forms import RelocationForm
from residency.services import relocation_start


def relocate(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    organization_wide(request).authorize("organization.manage_settings")
    customer = customer_of(request, customer_id)
    form = RelocationForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            relocation_start(
                acting_user=request.user,
                customer=customer,
                to_region=form.cleaned_data["to_region"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
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
    organization_wide(request).authorize("customers.read")
    relocation = selectors.latest_relocation(customer=customer_of(request, customer_id))
    return JsonResponse(selectors.relocation_status(relocation))


def organization_executions(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization_wide(request).authorize("executions.read")
    filters = ExecutionFilters.from_query(request.GET)
    try:
        page_number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page_number = 1
    page = merged_executions(
        page=page_number, per_page=50, filters=filters.lookups(by_definition=True)
    )
    names = dict(
        Customer.objects.filter(id__in={log.customer_id for log in page.items}).values_list(
            "id", "name"
        )
    )
    executions_with_workflows(page.items)
    return render(
        request,
        "residency/executions.html",
        {
            "page": page,
            "rows": [
                (log, names.get(log.customer_id, ""), log.workflow.name if log.workflow else None)
                for log in page.items
            ],
            "workflow_choices": organization_workflow_choices(),
            "query": filters.query(),
            **filters.context(),
        },
    )
