from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing import selectors, services
from billing.forms import CustomerLimitsForm, UpgradeRequestForm
from billing.models import UpgradeRequest
from billing.panels import billing_usage, usage_panel
from customers.models import Customer, OrganizationStatus, Plan
from customers.plans import LIMIT_LABELS
from customers.selectors import customer_list
from fastn_console.console import (
    add_service_errors,
    customer_of,
    organization_wide,
    tenant_of,
)


def _customer_usage_page(
    request: HttpRequest,
) -> tuple[Page[Customer], str, list[selectors.CustomerUsage]]:
    """One page of the searched customers with their usage against their limits."""
    search = request.GET.get("q", "").strip()
    page = Paginator(customer_list(search=search), 20).get_page(request.GET.get("page"))
    rows = selectors.customers_usage(
        organization=tenant_of(request).organization, customers=list(page.object_list)
    )
    return page, search, rows


def _plans() -> list[dict[str, Any]]:
    plans = list(Plan.objects.order_by("sort_order"))
    return [
        {
            "plan": plan,
            "limits": [(label, plan.limits.get(key)) for key, label in LIMIT_LABELS.items()],
        }
        for plan in plans
    ]


def _overview(
    request: HttpRequest, upgrade_form: UpgradeRequestForm | None = None, status: int = 200
) -> HttpResponse:
    tenant = tenant_of(request)
    organization = tenant.organization
    page, search, rows = _customer_usage_page(request)
    org_usage = selectors.organization_usage(organization=organization)
    can_manage = tenant.can("billing.manage")
    days = request.GET.get("days")
    panel, top = billing_usage(
        organization=organization, days=days, top_page=request.GET.get("top")
    )
    picked, picked_error = _picked_customer(request)
    if can_manage and upgrade_form is None:
        upgrade_form = UpgradeRequestForm(current_plan=organization.plan)
    return render(
        request,
        "billing/overview.html",
        {
            "organization": organization,
            "org_usage": org_usage,
            "warnings": [u for u in org_usage if u.level != "ok"],
            "rows": rows,
            "page": page,
            "search": search,
            "plans": _plans(),
            "provisional": organization.status == OrganizationStatus.PROVISIONAL,
            "can_manage": can_manage,
            "upgrade_form": upgrade_form,
            "open_requests": UpgradeRequest.objects.filter(status="open").select_related(
                "requested_plan"
            )
            if can_manage
            else [],
            "limits": selectors.effective_limits(organization=organization),
            "usage_panel": panel,
            "top": top,
            "picked": picked,
            "picked_error": picked_error,
            "picked_panel": usage_panel(organization=organization, days=days, customer=picked)
            if picked is not None
            else None,
        },
        status=status,
    )


def _picked_customer(request: HttpRequest) -> tuple[Customer | None, str]:
    """The customer whose usage Billing charts (``?customer=<id>``), or why there is none."""
    value = request.GET.get("customer", "").strip()
    if not value:
        return None, ""
    try:
        customer_id = uuid.UUID(value)
    except ValueError:
        return None, f"“{value[:40]}” is not a customer ID."
    customer = Customer.objects.live().filter(id=customer_id).first()
    if customer is None:
        return None, "No customer of this organization has that ID."
    return customer, ""


@require_GET
def overview(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization_wide(request).authorize("billing.read")
    return _overview(request)


@require_POST
def upgrade_request(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request)
    tenant.authorize("billing.manage")
    organization = tenant.organization
    form = UpgradeRequestForm(request.POST, current_plan=organization.plan)
    if form.is_valid():
        try:
            services.upgrade_request_create(
                acting_user=request.user,
                organization=organization,
                plan=form.cleaned_data["plan"],
                message=form.cleaned_data["message"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Request sent: Fastn will contact you about the "
                f"{form.cleaned_data['plan'].name} plan.",
            )
            return redirect("billing:overview", org_slug=organization.slug)
    return _overview(request, upgrade_form=form, status=400)


@require_GET
def customer_limits_index(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Customize Customer Limits: pick a customer."""
    organization_wide(request).authorize("billing.manage")
    page, search, rows = _customer_usage_page(request)
    return render(
        request,
        "billing/customer_limits_index.html",
        {"rows": rows, "page": page, "search": search},
    )


@require_http_methods(["GET", "POST"])
def customer_limits(request: HttpRequest, org_slug: str, customer_id: uuid.UUID) -> HttpResponse:
    """Per-customer overrides: effective value, its source, raise or lower, reset to plan."""
    tenant = tenant_of(request)
    organization = tenant.organization
    customer = customer_of(request, customer_id)
    tenant.authorize("billing.manage", customer)
    limits = selectors.effective_limits(organization=organization, customer=customer)
    if request.method == "POST":
        reset = request.POST.get("reset", "")
        if reset:
            if reset not in {limit.key for limit in limits}:
                raise Http404
            services.customer_limit_reset(
                acting_user=request.user, organization=organization, customer=customer, key=reset
            )
            messages.success(request, f"{LIMIT_LABELS[reset]} reset to the plan's value.")
            return redirect("billing:customer_limits", org_slug=org_slug, customer_id=customer.id)
        form = CustomerLimitsForm(request.POST, limits=limits)
        if form.is_valid():
            changed = _save_limits(request, form, limits, customer)
            if not form.errors:
                messages.success(
                    request, f"Limits saved for {customer.name}." if changed else "Nothing changed."
                )
                return redirect(
                    "billing:customer_limits", org_slug=org_slug, customer_id=customer.id
                )
        status = 400
    else:
        form = CustomerLimitsForm(limits=limits)
        status = 200
    usage = selectors.customer_usage(organization=organization, customer=customer)
    return render(
        request,
        "billing/customer_limits.html",
        {
            "customer": customer,
            "form": form,
            "rows": [(limit, form[limit.key], usage.get(limit.key)) for limit in limits],
        },
        status=status,
    )


def _save_limits(
    request: HttpRequest, form: CustomerLimitsForm, limits: list[Any], customer: Customer
) -> int:
    organization = tenant_of(request).organization
    changed = 0
    for limit in limits:
        value = form.cleaned_data.get(limit.key)
        current = limit.value if limit.source == selectors.OVERRIDE else None
        if value == current:
            continue
        try:
            if value is None:
                services.customer_limit_reset(
                    acting_user=request.user,
                    organization=organization,
                    customer=customer,
                    key=limit.key,
                )
            else:
                services.customer_limit_set(
                    acting_user=request.user,
                    organization=organization,
                    customer=customer,
                    key=limit.key,
                    value=value,
                )
            changed += 1
        except ValidationError as exc:
            add_service_errors(form, exc)
    return changed
