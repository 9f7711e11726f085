"""Settings → Advanced → Audit Log (SPEC §9): filters, pagination and CSV export."""

from __future__ import annotations

import csv
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from audit import selectors
from audit.forms import AuditFilterForm
from audit.services import audit_log_exported
from fastn_console.console import organization_wide
from roles.catalog import MANAGE_MEMBERS

PAGE_SIZE = 50


def _filter_form(request: HttpRequest) -> AuditFilterForm:
    organization_wide(request).authorize(MANAGE_MEMBERS)
    return AuditFilterForm(
        request.GET or None,
        actors=selectors.audit_actors(),
        actions=selectors.audit_actions(),
        customers=selectors.audit_customers(),
    )


def audit_log(request: HttpRequest, org_slug: str) -> HttpResponse:
    form = _filter_form(request)
    filters = form.filters() if form.is_bound else {}
    page = Paginator(selectors.audit_entries(**filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    names = selectors.customer_names(page.object_list)
    rows = [
        (entry, selectors.customer_label(entry, names), selectors.change_summary(entry))
        for entry in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/log.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "filtered": any(filters.values()),
            "export_query": query.urlencode(),
        },
    )


class _Echo:
    def write(self, value: Any) -> Any:
        return value


def audit_log_export(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The filtered log as CSV, the export itself audited (SPEC §14). Built in full before
    responding: data pages do not stream, because the tenant context ends when the view returns
    (SPEC §5.7)."""
    form = _filter_form(request)
    filters = form.filters() if form.is_bound else {}
    writer = csv.writer(_Echo())
    body = "".join(
        writer.writerow(row) for row in selectors.audit_csv_rows(selectors.audit_entries(**filters))
    )
    audit_log_exported(actor=request.user, filters=filters)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{org_slug}-{stamp}.csv"'
    return response
