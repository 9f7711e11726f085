"""Build → Connectors, Agents, Tools. One set of views serves the three kinds (``kind`` comes
from the URL pattern); the permission keys and models come from ``build.services.KINDS``."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from build import selectors, services
from build.forms import DeployForm, TestPanelForm, form_class_for
from build.services import KINDS, PROD, Kind
from customers.models import OrganizationStatus
from roles.selectors import authorize, permissions_of


def _names(kind: Kind) -> dict[str, str]:
    base = f"build:{kind.singular}"
    actions = ("list", "create", "detail", "edit", "delete", "deploy", "version", "test")
    return {action: f"{base}_{action}" for action in actions}


def _can(request: HttpRequest, kind: Kind) -> dict[str, bool]:
    keys = permissions_of(request.tenant.membership)  # type: ignore[attr-defined]
    actions = ("create", "read", "update", "delete")
    can = {action: kind.key(action) in keys for action in actions}
    can["deploy_test"] = kind.deploy_key("test") in keys
    can["deploy_prod"] = kind.deploy_key("prod") in keys
    can["execute"] = kind.executable and kind.key("execute") in keys
    return can


def _authorize(request: HttpRequest, key: str, customer: Any = None) -> None:
    tenant = request.tenant  # type: ignore[attr-defined]
    authorize(tenant.membership, key, tenant.organization, customer)


def _get_item_for_request(request: HttpRequest, kind: Kind, item_id: uuid.UUID) -> Any:
    """The item of the request's organization, or 404 (the scoped manager filters by org)."""
    return get_object_or_404(kind.model.objects.all(), id=item_id)  # type: ignore[attr-defined]


def _context(request: HttpRequest, kind: Kind, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "names": _names(kind), "can": _can(request, kind), **extra}


def item_list(request: HttpRequest, org_slug: str, kind: str) -> HttpResponse:
    spec = KINDS[kind]
    _authorize(request, spec.key("read"))
    search = request.GET.get("q", "")
    page = Paginator(selectors.build_item_list(kind=spec, search=search), 25).get_page(
        request.GET.get("page")
    )
    return render(
        request, "build/item_list.html", _context(request, spec, page=page, search=search)
    )


def item_create(request: HttpRequest, org_slug: str, kind: str) -> HttpResponse:
    spec = KINDS[kind]
    _authorize(request, spec.key("create"))
    tenant = request.tenant  # type: ignore[attr-defined]
    form = form_class_for(spec)(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.build_item_create(
                acting_user=request.user,
                organization=tenant.organization,
                kind=spec,
                data=form.cleaned_data,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{spec.label} {item.name} created as version 1.")
            return redirect(_names(spec)["detail"], org_slug=org_slug, item_id=item.id)
    return render(
        request,
        "build/item_form.html",
        _context(request, spec, form=form, title=f"New {spec.singular}"),
    )


def item_detail(request: HttpRequest, org_slug: str, kind: str, item_id: uuid.UUID) -> HttpResponse:
    spec = KINDS[kind]
    _authorize(request, spec.key("read"))
    item = _get_item_for_request(request, spec, item_id)
    versions = Paginator(selectors.build_item_versions(kind=spec, item=item), 20).get_page(
        request.GET.get("page")
    )
    organization = request.tenant.organization  # type: ignore[attr-defined]
    return render(
        request,
        "build/item_detail.html",
        _context(
            request,
            spec,
            item=item,
            page=versions,
            provisional=organization.status == OrganizationStatus.PROVISIONAL,
            definition=json.dumps({field: getattr(item, field) for field in spec.fields}, indent=2),
        ),
    )


def version_detail(
    request: HttpRequest, org_slug: str, kind: str, item_id: uuid.UUID, number: int
) -> HttpResponse:
    spec = KINDS[kind]
    _authorize(request, spec.key("read"))
    item = _get_item_for_request(request, spec, item_id)
    version = get_object_or_404(selectors.build_item_versions(kind=spec, item=item), number=number)
    return render(
        request,
        "build/version_detail.html",
        _context(
            request,
            spec,
            item=item,
            version=version,
            snapshot=json.dumps(
                selectors.build_item_snapshot(kind=spec, item=item, number=number), indent=2
            ),
        ),
    )


def item_edit(request: HttpRequest, org_slug: str, kind: str, item_id: uuid.UUID) -> HttpResponse:
    spec = KINDS[kind]
    _authorize(request, spec.key("update"))
    item = _get_item_for_request(request, spec, item_id)
    form_class = form_class_for(spec)
    form = form_class(request.POST or None, initial=form_class.initial_from(item))  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.build_item_update(
                acting_user=request.user,
                organization=request.tenant.organization,  # type: ignore[attr-defined]
                kind=spec,
                item=item,
                data=form.cleaned_data,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if changed:
                messages.success(request, f"Saved as version {item.current_version}.")
            else:
                messages.info(request, "Nothing changed; no new version was made.")
            return redirect(_names(spec)["detail"], org_slug=org_slug, item_id=item.id)
    return render(
        request,
        "build/item_form.html",
        _context(request, spec, form=form, item=item, title=f"Edit {item.name}"),
    )


def item_delete(request: HttpRequest, org_slug: str, kind: str, item_id: uuid.UUID) -> HttpResponse:
    spec = KINDS[kind]
    _authorize(request, spec.key("delete"))
    item = _get_item_for_request(request, spec, item_id)
    if request.method == "POST":
        try:
            services.build_item_delete(
                acting_user=request.user,
                organization=request.tenant.organization,  # type: ignore[attr-defined]
                kind=spec,
                item=item,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(_names(spec)["detail"], org_slug=org_slug, item_id=item.id)
        messages.success(request, f"{spec.label} {item.name} deleted.")
        return redirect(_names(spec)["list"], org_slug=org_slug)
    return render(request, "build/item_delete.html", _context(request, spec, item=item))


@require_POST
def item_deploy(request: HttpRequest, org_slug: str, kind: str, item_id: uuid.UUID) -> HttpResponse:
    spec = KINDS[kind]
    form = DeployForm(request.POST)
    if not form.is_valid():
        _authorize(request, spec.key("read"))
        messages.error(request, "Choose an environment and a version.")
        return redirect(_names(spec)["list"], org_slug=org_slug)
    environment, number = form.cleaned_data["environment"], form.cleaned_data["number"]
    _authorize(request, spec.deploy_key(environment))
    item = _get_item_for_request(request, spec, item_id)
    previous = getattr(item, f"{environment}_version")
    try:
        services.build_item_deploy(
            acting_user=request.user,
            organization=request.tenant.organization,  # type: ignore[attr-defined]
            kind=spec,
            item=item,
            environment=environment,
            number=number,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        verb = (
            "Rolled prod back"
            if previous and number < previous and environment == PROD
            else (f"Deployed to {environment}")
        )
        messages.success(request, f"{verb}: {item.name} version {number} is live in {environment}.")
    return redirect(_names(spec)["detail"], org_slug=org_slug, item_id=item.id)


def item_test(request: HttpRequest, org_slug: str, kind: str, item_id: uuid.UUID) -> HttpResponse:
    spec = KINDS[kind]
    _authorize(request, spec.key("execute"))
    item = _get_item_for_request(request, spec, item_id)
    form = TestPanelForm(
        request.POST or None,
        schema=item.input_schema or {},
        customers=selectors.runnable_customers(),
    )
    run = None
    if request.method == "POST" and form.is_valid():
        customer = form.cleaned_data["customer"]
        _authorize(request, spec.key("execute"), customer)
        try:
            run = services.build_item_test(
                acting_user=request.user,
                organization=request.tenant.organization,  # type: ignore[attr-defined]
                kind=spec,
                item=item,
                customer=customer,
                payload=form.cleaned_data["payload"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(
        request,
        "build/test_panel.html",
        _context(
            request,
            spec,
            item=item,
            form=form,
            run=run,
            schema=json.dumps(item.input_schema, indent=2) if item.input_schema else "",
        ),
    )
