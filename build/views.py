"""Build → Connectors, Agents, Tools, Workflows. One set of views serves the four kinds
(``kind`` comes from the URL pattern); the permission keys and models come from
``build.services.KINDS``."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from build import selectors, services
from build.deploys import is_rollback
from build.forms import DeployForm, TestPanelForm, form_class_for
from build.services import KINDS, WORKFLOWS, Kind
from customers.models import Customer, OrganizationStatus
from dataplane.models import Workflow
from dataplane.selectors import organization_count
from fastn_console.console import (
    add_service_errors,
    get_for_tenant_or_404,
    organization_wide,
    outside_request_transaction,
    tenant_of,
    tenant_scope,
)


def _names(kind: Kind) -> dict[str, str]:
    base = f"build:{kind.singular}"
    actions = ("list", "create", "detail", "edit", "delete", "deploy", "version", "test")
    return {action: f"{base}_{action}" for action in actions}


def _can(request: HttpRequest, kind: Kind) -> dict[str, bool]:
    keys = tenant_of(request).permissions
    can = {action: kind.key(action) in keys for action in ("create", "read", "update", "delete")}
    can["deploy_test"] = kind.deploy_key("test") in keys
    can["deploy_prod"] = kind.deploy_key("prod") in keys
    can["execute"] = kind.executable and kind.key("execute") in keys
    return can


def _kind_for_user(request: HttpRequest, kind: str, action: str) -> Kind:
    """The URL's kind, once the member may ``action`` it (403 otherwise)."""
    spec = KINDS[kind]
    organization_wide(request).authorize(spec.key(action))
    return spec


def _get_item_for_user(request: HttpRequest, kind: Kind, item_id: uuid.UUID) -> Any:
    """The item of the request's organization, or 404 (the scoped manager filters by org)."""
    return get_for_tenant_or_404(kind.items(), id=item_id)


def _writes(request: HttpRequest, kind: Kind, **item: Any) -> dict[str, Any]:
    """What every build service takes: who acts, in which organization, on which kind."""
    organization = tenant_of(request).organization
    return {"acting_user": request.user, "organization": organization, "kind": kind, **item}


def _context(request: HttpRequest, kind: Kind, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "names": _names(kind), "can": _can(request, kind), **extra}


def _to_detail(org_slug: str, kind: Kind, item: Any) -> HttpResponse:
    return redirect(_names(kind)["detail"], org_slug=org_slug, item_id=item.id)


def item_list(request: HttpRequest, org_slug: str, kind: str) -> HttpResponse:
    spec = _kind_for_user(request, kind, "read")
    search = request.GET.get("q", "")
    page = Paginator(selectors.build_item_list(kind=spec, search=search), 25).get_page(
        request.GET.get("page")
    )
    return render(
        request, "build/item_list.html", _context(request, spec, page=page, search=search)
    )


def item_create(request: HttpRequest, org_slug: str, kind: str) -> HttpResponse:
    spec = _kind_for_user(request, kind, "create")
    form = form_class_for(spec)(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.build_item_create(**_writes(request, spec), data=form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{spec.label} {item.name} created as version 1.")
            return _to_detail(org_slug, spec, item)
    return render(
        request,
        "build/item_form.html",
        _context(request, spec, form=form, title=f"New {spec.singular}"),
    )


def item_detail(request: HttpRequest, org_slug: str, kind: str, item_id: uuid.UUID) -> HttpResponse:
    spec = _kind_for_user(request, kind, "read")
    item = _get_item_for_user(request, spec, item_id)
    versions = Paginator(selectors.build_item_versions(kind=spec, item=item), 20).get_page(
        request.GET.get("page")
    )
    organization = tenant_of(request).organization
    customers_with = None
    if spec is WORKFLOWS:
        customers_with = organization_count(
            Workflow, customers=Customer.objects.live(), definition_id=item.id
        )
    return render(
        request,
        "build/item_detail.html",
        _context(
            request,
            spec,
            item=item,
            customers_with=customers_with,
            page=versions,
            provisional=organization.status == OrganizationStatus.PROVISIONAL,
            definition=json.dumps({field: getattr(item, field) for field in spec.fields}, indent=2),
        ),
    )


def version_detail(
    request: HttpRequest, org_slug: str, kind: str, item_id: uuid.UUID, number: int
) -> HttpResponse:
    spec = _kind_for_user(request, kind, "read")
    item = _get_item_for_user(request, spec, item_id)
    version = get_for_tenant_or_404(
        selectors.build_item_versions(kind=spec, item=item), number=number
    )
    snapshot = selectors.build_item_snapshot(kind=spec, item=item, number=number)
    return render(
        request,
        "build/version_detail.html",
        _context(
            request, spec, item=item, version=version, snapshot=json.dumps(snapshot, indent=2)
        ),
    )


def item_edit(request: HttpRequest, org_slug: str, kind: str, item_id: uuid.UUID) -> HttpResponse:
    spec = _kind_for_user(request, kind, "update")
    item = _get_item_for_user(request, spec, item_id)
    form_class = form_class_for(spec)
    form = form_class(request.POST or None, initial=form_class.initial_from(item))
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.build_item_update(
                **_writes(request, spec, item=item), data=form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if changed:
                messages.success(request, f"Saved as version {item.current_version}.")
            else:
                messages.info(request, "Nothing changed; no new version was made.")
            return _to_detail(org_slug, spec, item)
    return render(
        request,
        "build/item_form.html",
        _context(request, spec, form=form, item=item, title=f"Edit {item.name}"),
    )


def item_delete(request: HttpRequest, org_slug: str, kind: str, item_id: uuid.UUID) -> HttpResponse:
    spec = _kind_for_user(request, kind, "delete")
    item = _get_item_for_user(request, spec, item_id)
    if request.method == "POST":
        try:
            services.build_item_delete(**_writes(request, spec, item=item))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return _to_detail(org_slug, spec, item)
        messages.success(request, f"{spec.label} {item.name} deleted.")
        return redirect(_names(spec)["list"], org_slug=org_slug)
    return render(request, "build/item_delete.html", _context(request, spec, item=item))


@require_POST
def item_deploy(request: HttpRequest, org_slug: str, kind: str, item_id: uuid.UUID) -> HttpResponse:
    spec = KINDS[kind]
    form = DeployForm(request.POST)
    if not form.is_valid():
        _kind_for_user(request, kind, "read")
        messages.error(request, "Choose an environment and a version.")
        return redirect(_names(spec)["list"], org_slug=org_slug)
    environment, number = form.cleaned_data["environment"], form.cleaned_data["number"]
    organization_wide(request).authorize(spec.deploy_key(environment))
    item = _get_item_for_user(request, spec, item_id)
    previous = getattr(item, f"{environment}_version")
    try:
        services.build_item_deploy(
            **_writes(request, spec, item=item), environment=environment, number=number
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        rollback = is_rollback(environment, previous, number)
        verb = "Rolled prod back" if rollback else f"Deployed to {environment}"
        messages.success(request, f"{verb}: {item.name} version {number} is live in {environment}.")
    return _to_detail(org_slug, spec, item)


@outside_request_transaction
def item_test(request: HttpRequest, org_slug: str, kind: str, item_id: uuid.UUID) -> HttpResponse:
    """The test panel. It calls out, so it runs outside the request's transaction: checks and
    reads in the request's scope, the call with none open, the page in a fresh scope."""
    with tenant_scope(request):
        spec = _kind_for_user(request, kind, "execute")
        item = _get_item_for_user(request, spec, item_id)
        form = TestPanelForm(
            request.POST or None,
            schema=item.input_schema or {},
            customers=selectors.runnable_customers(),
        )
        customer = None
        if request.method == "POST" and form.is_valid():
            customer = form.cleaned_data["customer"]
            tenant_of(request).authorize(spec.key("execute"), customer)
    run = None
    if customer is not None:
        try:
            run = services.build_item_test(
                **_writes(request, spec, item=item),
                customer=customer,
                payload=form.cleaned_data["payload"],
                enter=lambda: tenant_scope(request),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
    schema = json.dumps(item.input_schema, indent=2) if item.input_schema else ""
    with tenant_scope(request):
        return render(
            request,
            "build/test_panel.html",
            _context(request, spec, item=item, form=form, run=run, schema=schema),
        )
