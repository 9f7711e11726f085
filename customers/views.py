from __future__ import annotations

import uuid

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from customers import selectors
from customers.models import CustomerStatus, Region
from dataplane.models import Configuration, Connection, ExecutionLog, Workflow
from roles.selectors import authorize

CUSTOMER_TABS = ("connections", "workflows", "executions", "configuration")


def organization_home(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    if tenant.is_customer_restricted:
        raise Http404
    authorize(tenant.membership, "customers.read", tenant.organization)
    customers = selectors.customer_list()
    return render(
        request,
        "customers/organization_home.html",
        {
            "customer_count": customers.count(),
            "active_count": customers.filter(status=CustomerStatus.ACTIVE).count(),
            "recent_customers": customers.order_by("-created_at")[:5],
        },
    )


def customer_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    if tenant.is_customer_restricted:
        raise Http404
    authorize(tenant.membership, "customers.read", tenant.organization)
    search = request.GET.get("q", "")
    status = request.GET.get("status", "")
    region = request.GET.get("region", "")
    page = Paginator(
        selectors.customer_list(search=search, status=status, region=region), 25
    ).get_page(request.GET.get("page"))
    counts = selectors.connection_counts(page.object_list)
    rows = [(customer, counts.get(customer.id, 0)) for customer in page.object_list]
    return render(
        request,
        "customers/customer_list.html",
        {
            "page": page,
            "rows": rows,
            "search": search,
            "status": status,
            "region": region,
            "statuses": CustomerStatus.choices,
            "regions": Region.choices,
        },
    )


def customer_detail(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, tab: str = "connections"
) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    customer = tenant.customer
    if tab not in CUSTOMER_TABS:
        raise Http404
    key = {
        "connections": "connections.read",
        "workflows": "workflows.read",
        "executions": "executions.read",
        "configuration": "connections.read",
    }[tab]
    authorize(tenant.membership, key, tenant.organization, customer)
    querysets = {
        "connections": Connection.objects.all,
        "workflows": Workflow.objects.all,
        "executions": ExecutionLog.objects.all,
        "configuration": Configuration.objects.all,
    }
    page = Paginator(querysets[tab](), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "customers/customer_detail.html",
        {"customer": customer, "tab": tab, "tabs": CUSTOMER_TABS, "page": page},
    )
