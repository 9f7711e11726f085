from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import customer_data_exported
from billing.panels import usage_panel
from billing.selectors import customer_usage, effective_limits
from customers import selectors, services
from customers.forms import (
    CustomerCreateForm,
    CustomerForm,
    EmailDomainForm,
    OrganizationForm,
    TypedConfirmationForm,
)
from customers.labels import labels_parse, labels_text
from customers.models import HIDDEN_CUSTOMER_STATES, Customer, CustomerStatus, Organization, Region
from customers.overview import organization_overview
from customers.services.email_domain import pending_email_domain
from dataplane.execution_filters import (
    ExecutionFilters,
    customer_executions,
    customer_workflow_choices,
)
from dataplane.models import Connection, ExecutionLog, Workflow
from dataplane.selectors import executions_with_workflows, workflows_with_definitions
from fastn_console.console import (
    add_service_errors,
    customer_of,
    organization_wide,
    tenant_of,
)
from residency.selectors import latest_relocation
from roles.catalog import MANAGE_SETTINGS, OWNER_ONLY
from tenancy.context import ORGANIZATION, context

# Tab -> the permission that shows it (SPEC §4).
CUSTOMER_TABS: dict[str, tuple[str, str]] = {
    "connections": ("Connections", "connections.read"),
    "workflows": ("Workflows", "workflows.read"),
    "executions": ("Executions", "executions.read"),
    "configuration": ("Configuration", "connections.read"),
    "limits": ("Limits", "billing.read"),
    "residency": ("Residency", "customers.read"),
}
REGION_RESIDENCY = {
    Region.US: "Data stored in the United States",
    Region.EU: "Data stored in the European Union",
    Region.APAC: "Data stored in the Asia-Pacific region",
}


def _customer_for(request: HttpRequest, customer_id: uuid.UUID, key: str) -> Customer:
    """The URL's customer (404 outside the member's scope) once the member holds ``key`` on it."""
    customer = customer_of(request, customer_id)
    tenant_of(request).authorize(key, customer)
    return customer


# --- Overview ---------------------------------------------------------------------------------


@require_GET
def organization_home(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The Overview: each card the member may see (``customers.overview``)."""
    overview = organization_overview(tenant=organization_wide(request))
    return render(request, "customers/organization_home.html", {"overview": overview})


# --- Settings → General -----------------------------------------------------------------------


def _general_context(request: HttpRequest, **forms: Any) -> dict[str, Any]:
    tenant = tenant_of(request)
    organization = tenant.organization
    can_manage = tenant.can(MANAGE_SETTINGS)
    is_owner = tenant.can(OWNER_ONLY)
    context_data: dict[str, Any] = {
        "organization": organization,
        "pending_change": pending_email_domain(organization),
        "can_manage": can_manage,
        "is_owner": is_owner,
        "regions": Region.choices,
    }
    if can_manage:
        context_data["form"] = forms.get("form") or OrganizationForm(
            initial={"name": organization.name, "default_region": organization.default_region}
        )
        context_data["domain_form"] = forms.get("domain_form") or EmailDomainForm()
    if is_owner:
        context_data["delete_form"] = forms.get("delete_form") or TypedConfirmationForm(
            expected=organization.name
        )
    return context_data


@require_http_methods(["GET", "POST"])
def general(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request)
    organization = tenant.organization
    if request.method == "GET":
        return render(request, "customers/general.html", _general_context(request))
    tenant.authorize(MANAGE_SETTINGS)
    form = OrganizationForm(request.POST)
    if form.is_valid():
        try:
            services.organization_update(
                acting_user=request.user, organization=organization, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Organization settings saved.")
            return redirect("customers:general", org_slug=organization.slug)
    return render(
        request, "customers/general.html", _general_context(request, form=form), status=400
    )


@require_POST
def general_domain(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request)
    tenant.authorize(MANAGE_SETTINGS)
    organization = tenant.organization
    form = EmailDomainForm(request.POST)
    if form.is_valid():
        try:
            services.organization_email_domain_request(
                acting_user=request.user,
                organization=organization,
                domain=form.cleaned_data["email_domain"],
                address=form.cleaned_data["verification_email"],
                build_link=lambda token: request.build_absolute_uri(
                    reverse(
                        "customers:verify_domain",
                        kwargs={"org_slug": organization.slug, "token": token},
                    )
                ),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"We sent a verification link to {form.cleaned_data['verification_email']}. "
                "The domain changes when it is followed.",
            )
            return redirect("customers:general", org_slug=organization.slug)
    return render(
        request,
        "customers/general.html",
        _general_context(request, domain_form=form),
        status=400,
    )


@require_POST
def general_domain_cancel(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request)
    tenant.authorize(MANAGE_SETTINGS)
    services.organization_email_domain_cancel(
        acting_user=request.user, organization=tenant.organization
    )
    messages.success(request, "The pending domain change was cancelled.")
    return redirect("customers:general", org_slug=tenant.organization.slug)


@login_not_required
@require_http_methods(["GET", "POST"])
def verify_domain(request: HttpRequest, org_slug: str, token: str) -> HttpResponse:
    """The emailed link. It works signed out (the token carries the organization); signed in,
    the middleware has already entered the member's scope. GET only shows a button, so mail
    scanners that fetch links change nothing."""
    try:
        org_id, domain = services.domain_token_read(token)
    except ValidationError as exc:
        return render(
            request, "customers/verify_domain.html", {"error": exc.messages[0]}, status=400
        )
    if request.user.is_authenticated and tenant_of(request).organization.id != org_id:
        raise Http404
    actor = request.user if request.user.is_authenticated else None
    with context(org_id=org_id, role=ORGANIZATION, user_id=getattr(actor, "pk", None)):
        organization = Organization.objects.live().filter(id=org_id, slug=org_slug).first()
        if organization is None:
            raise Http404
        data: dict[str, Any] = {"organization": organization, "domain": domain}
        if request.method == "POST":
            try:
                services.organization_email_domain_confirm(acting_user=actor, token=token)
            except ValidationError as exc:
                data["error"] = exc.messages[0]
                return render(request, "customers/verify_domain.html", data, status=400)
            data["done"] = True
        elif (pending := pending_email_domain(organization)) is None or pending.domain != domain:
            data["error"] = (
                "This link is for a domain change that was cancelled, already applied or "
                "replaced by a newer one."
            )
    return render(request, "customers/verify_domain.html", data)


@require_POST
def organization_delete(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request)
    tenant.authorize(OWNER_ONLY)
    organization = tenant.organization
    form = TypedConfirmationForm(request.POST, expected=organization.name)
    if not form.is_valid():
        return render(
            request,
            "customers/general.html",
            _general_context(request, delete_form=form),
            status=400,
        )
    services.organization_delete_request(acting_user=request.user, organization=organization)
    messages.success(
        request, f"{organization.name} is being deleted. Its data is removed in the background."
    )
    return redirect("home")


# --- Settings → Customers ---------------------------------------------------------------------


@require_GET
def customer_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization_wide(request).authorize("customers.read")
    search = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    region = request.GET.get("region", "")
    label = request.GET.get("label", "").strip()
    label_error = ""
    try:
        labels = labels_parse(label)
    except ValidationError as exc:
        labels, label_error = {}, " ".join(exc.messages)
    page = Paginator(
        selectors.customer_list(search=search, status=status, region=region, labels=labels), 25
    ).get_page(request.GET.get("page"))
    customers = list(page.object_list)
    counts = selectors.connection_counts(customers)
    return render(
        request,
        "customers/customer_list.html",
        {
            "page": page,
            "rows": [(customer, counts.get(customer.id, 0)) for customer in customers],
            "search": search,
            "status": status,
            "region": region,
            "label": label,
            "label_error": label_error,
            "filtered": bool(search or status or region or labels),
            "statuses": [c for c in CustomerStatus.choices if c[0] not in HIDDEN_CUSTOMER_STATES],
            "regions": Region.choices,
        },
    )


@require_http_methods(["GET", "POST"])
def customer_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request)
    tenant.authorize("customers.create")
    organization = tenant.organization
    if request.method == "POST":
        form = CustomerCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                customer = services.customer_create(
                    acting_user=request.user,
                    organization=organization,
                    name=data["name"],
                    external_id=data["external_id"],
                    labels=data["labels"],
                    metadata=data["metadata"],
                    region=data["region"],
                    status=CustomerStatus.ACTIVE
                    if data["activate"]
                    else CustomerStatus.PENDING_ACTIVATION,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, f"Customer {customer.name} created. Customer ID: {customer.id}"
                )
                return redirect(
                    "customers:customer_detail",
                    org_slug=organization.slug,
                    customer_id=customer.id,
                )
        status = 400
    else:
        form = CustomerCreateForm(initial={"region": organization.default_region})
        status = 200
    return render(
        request,
        "customers/customer_form.html",
        {"form": form, "title": "Create customer"},
        status=status,
    )


def _metadata_json(customer: Customer) -> str:
    return json.dumps(customer.metadata, indent=2, ensure_ascii=False) if customer.metadata else ""


def _tab_links(request: HttpRequest) -> list[tuple[str, str]]:
    """The tabs the member may open on the URL's customer page."""
    tenant = tenant_of(request)
    return [(tab, label) for tab, (label, key) in CUSTOMER_TABS.items() if tenant.can(key)]


@require_GET
def customer_detail(
    request: HttpRequest, org_slug: str, customer_id: uuid.UUID, tab: str | None = None
) -> HttpResponse:
    tenant = tenant_of(request)
    customer = customer_of(request, customer_id)
    tabs = _tab_links(request)
    if tab is None:
        if not tabs:
            raise PermissionDenied("No customer tab is visible to this member.")
        tab = tabs[0][0]
    if tab not in CUSTOMER_TABS:
        raise Http404
    tenant.authorize(CUSTOMER_TABS[tab][1], customer)
    data: dict[str, Any] = {
        "customer": customer,
        "tab": tab,
        "tabs": tabs,
        "metadata_json": _metadata_json(customer),
    }
    if tab == "connections":
        data["page"] = Paginator(Connection.objects.order_by("name", "id"), 25).get_page(
            request.GET.get("page")
        )
    elif tab == "workflows":
        page = Paginator(Workflow.objects.order_by("created_at", "id"), 25).get_page(
            request.GET.get("page")
        )
        page.object_list = workflows_with_definitions(page.object_list)
        data["page"] = page
    elif tab == "executions":
        filters = ExecutionFilters.from_query(request.GET, default_period="7d")
        executions = Paginator(customer_executions(filters), 25).get_page(request.GET.get("page"))
        executions.object_list = executions_with_workflows(executions.object_list)
        data.update(
            page=executions,
            workflow_choices=customer_workflow_choices(),
            **filters.context(),
        )
    elif tab == "configuration":
        data["page"] = Paginator(selectors.configuration_list(), 25).get_page(
            request.GET.get("page")
        )
    elif tab == "limits":
        usage = customer_usage(organization=tenant.organization, customer=customer)
        data["limits"] = [
            (limit, usage.get(limit.key))
            for limit in effective_limits(organization=tenant.organization, customer=customer)
        ]
        data["usage_panel"] = usage_panel(
            organization=tenant.organization, customer=customer, days=request.GET.get("days")
        )
    else:
        data["residency"] = REGION_RESIDENCY[Region(customer.region)]
        data["relocation"] = latest_relocation(customer=customer)
    return render(request, "customers/customer_detail.html", data)


@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    customer = _customer_for(request, customer_id, "customers.update")
    if request.method == "POST":
        form = CustomerForm(request.POST)
        if form.is_valid():
            try:
                services.customer_update(
                    acting_user=request.user, customer=customer, **form.cleaned_data
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Customer saved.")
                return redirect(
                    "customers:customer_detail", org_slug=org_slug, customer_id=customer.id
                )
        status = 400
    else:
        form = CustomerForm(
            initial={
                "name": customer.name,
                "external_id": customer.external_id,
                "labels": labels_text(customer.labels),
                "metadata": _metadata_json(customer),
            }
        )
        status = 200
    return render(
        request,
        "customers/customer_form.html",
        {"form": form, "title": f"Edit {customer.name}", "customer": customer},
        status=status,
    )


@require_POST
def customer_status(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    customer = _customer_for(request, customer_id, "customers.update")
    wanted = request.POST.get("status", "")
    if wanted not in (CustomerStatus.ACTIVE, CustomerStatus.SUSPENDED):
        raise PermissionDenied("Only activate or suspend here.")
    try:
        services.customer_status_change(acting_user=request.user, customer=customer, status=wanted)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        verb = "activated" if wanted == CustomerStatus.ACTIVE else "suspended"
        messages.success(request, f"{customer.name} {verb}.")
    return redirect("customers:customer_detail", org_slug=org_slug, customer_id=customer.id)


@require_http_methods(["GET", "POST"])
def customer_delete(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    customer = _customer_for(request, customer_id, "customers.delete")
    form = TypedConfirmationForm(request.POST or None, expected=customer.name)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.customer_delete_request(acting_user=request.user, customer=customer)
            except ValidationError as exc:
                messages.error(request, exc.messages[0])
                return redirect(
                    "customers:customer_detail", org_slug=org_slug, customer_id=customer.id
                )
            messages.success(
                request, f"{customer.name} is being deleted. Its data is removed in the background."
            )
            return redirect("customers:customer_list", org_slug=org_slug)
    counts = {
        "connections": Connection.objects.count(),
        "workflows": Workflow.objects.count(),
        "executions": ExecutionLog.objects.count(),
        "configuration": len(selectors.configuration_list()),
    }
    return render(
        request,
        "customers/customer_delete.html",
        {
            "customer": customer,
            "form": form,
            "counts": counts,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_GET
def customer_export(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    customer = _customer_for(request, customer_id, "customers.read")
    body = json.dumps(selectors.customer_export(customer=customer), indent=2)
    customer_data_exported(actor=request.user, customer_id=customer.id)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.id}.json"'
    return response
