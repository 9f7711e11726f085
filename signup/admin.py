"""Staff review of signups (SPEC §8): manual_review first, the classification readable, and
Approve / Reject with a reason / Re-run classification, each recorded on the application (and in
the organization's audit log once it exists). The admin runs in the platform scope."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from signup import services
from signup.models import SignupApplication, SignupStatus

REVIEW_FIRST = Case(
    When(status=SignupStatus.MANUAL_REVIEW, then=Value(0)),
    When(status=SignupStatus.PROVISIONAL, then=Value(1)),
    When(status=SignupStatus.PENDING, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason (shown to the applicant)",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


def _yes_no(value: object) -> str:
    return "yes" if value else "no"


@admin.register(SignupApplication)
class SignupApplicationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    change_form_template = "admin/signup/signupapplication/change_form.html"
    list_display = [
        "company_name",
        "email",
        "status",
        "reason",
        "confidence",
        "email_confirmed",
        "created_at",
    ]
    list_filter = ["status", "reason"]
    search_fields = ["company_name", "email", "email_domain", "full_name"]
    ordering = [REVIEW_FIRST.asc(), "-created_at"]
    list_per_page = 50
    actions = ["approve_selected", "reject_selected", "rerun_classification_selected"]
    fieldsets = (
        (
            "Applicant",
            {"fields": ("full_name", "email", "email_domain", "company_name", "company_website")},
        ),
        (
            "Outcome",
            {
                "fields": (
                    "status",
                    "reason",
                    "hint",
                    "email_confirmed_at",
                    "provisioned_organization",
                    "provisioned_user",
                )
            },
        ),
        (
            "Classification",
            {"fields": ("classification_summary", "llm_model", "prompt_version", "latency_ms")},
        ),
        ("Pipeline", {"fields": ("steps_table", "created_at", "updated_at")}),
        ("Raw model response", {"classes": ("collapse",), "fields": ("raw_response",)}),
    )
    # Every field shown is read-only: staff change an application only through the actions.
    readonly_fields = flatten_fieldsets(fieldsets)

    # Staff (is_staff) review signups; nobody adds or deletes applications by hand.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # --- Display --------------------------------------------------------------------------

    @admin.display(description="Confidence")
    def confidence(self, obj: SignupApplication) -> str:
        if not obj.classification:
            return "–"
        return f"{float(obj.classification.get('confidence', 0)):.2f}"

    @admin.display(description="Email confirmed")
    def email_confirmed(self, obj: SignupApplication) -> str:
        return _yes_no(obj.email_confirmed_at)

    @admin.display(description="Classification")
    def classification_summary(self, obj: SignupApplication) -> str:
        data = obj.classification
        if not data:
            return "No classification (see the pipeline steps)."
        rows = [
            ("Industry", data.get("industry", "")),
            ("Business", _yes_no(data.get("is_business"))),
            ("SaaS vendor", _yes_no(data.get("is_saas_vendor"))),
            ("Confidence", f"{float(data.get('confidence', 0)):.2f}"),
            ("Red flags", ", ".join(data.get("red_flags", [])) or "none"),
            ("Tech stack", ", ".join(data.get("tech_stack", [])) or "–"),
            ("Integration needs", ", ".join(data.get("integration_needs", [])) or "–"),
            ("Reasoning", data.get("reasoning", "")),
        ]
        body = format_html_join(
            "", "<tr><th scope='row'>{}</th><td>{}</td></tr>", ((k, v) for k, v in rows)
        )
        return format_html("<table class='signup-classification'>{}</table>", body)

    @admin.display(description="Steps")
    def steps_table(self, obj: SignupApplication) -> str:
        if not obj.steps:
            return "No step has run yet."
        known = {"step", "result", "at", "error", "done"}
        rows = (
            (
                entry.get("at", ""),
                entry.get("step", ""),
                entry.get("result", ""),
                entry.get("error", ""),
                json.dumps({k: v for k, v in entry.items() if k not in known}, sort_keys=True)
                if set(entry) - known
                else "",
            )
            for entry in obj.steps
        )
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            rows,
        )
        return format_html(
            "<table><thead><tr><th>Time</th><th>Step</th><th>Result</th><th>Error</th>"
            "<th>Details</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

    # --- Actions ----------------------------------------------------------------------------

    def _apply(
        self,
        request: HttpRequest,
        applications: Iterable[SignupApplication],
        service: Callable[..., SignupApplication],
        verb: str,
        **kwargs: Any,
    ) -> int:
        done = 0
        for application in applications:
            try:
                service(acting_user=request.user, application_id=application.id, **kwargs)
            except services.SignupActionRefused as exc:
                self.message_user(request, f"{application}: {exc}", messages.WARNING)
                continue
            self.log_change(request, application, f"{verb} ({kwargs.get('reason', '')})".strip())
            done += 1
        if done:
            self.message_user(request, f"{verb}: {done} application(s).", messages.SUCCESS)
        return done

    @admin.action(description="Approve selected applications")
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[SignupApplication]) -> None:
        self._apply(request, queryset, services.signup_application_approve, "Approved")

    @admin.action(description="Re-run classification")
    def rerun_classification_selected(
        self, request: HttpRequest, queryset: QuerySet[SignupApplication]
    ) -> None:
        self._apply(
            request,
            queryset,
            services.signup_application_rerun_classification,
            "Classification re-run",
        )

    @admin.action(description="Reject selected applications…")
    def reject_selected(
        self, request: HttpRequest, queryset: QuerySet[SignupApplication]
    ) -> HttpResponse | None:
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            self._apply(
                request,
                queryset,
                services.signup_application_reject,
                "Rejected",
                reason=form.cleaned_data["reason"],
            )
            return None
        return self._reject_page(request, list(queryset), form, action="reject_selected")

    def _reject_page(
        self,
        request: HttpRequest,
        applications: list[SignupApplication],
        form: RejectForm,
        *,
        action: str = "",
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject signup applications",
            "opts": self.model._meta,
            "applications": applications,
            "form": form,
            "action": action,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/signup/reject.html", context)

    # --- Buttons on the change page ---------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<uuid:object_id>/approve/", wrap(self.approve_view), name="signup_approve"),
            path("<uuid:object_id>/reject/", wrap(self.reject_view), name="signup_reject"),
            path("<uuid:object_id>/rerun/", wrap(self.rerun_view), name="signup_rerun"),
            *super().get_urls(),
        ]

    def _object_for_action(self, request: HttpRequest, object_id: str) -> SignupApplication:
        if not self.has_change_permission(request):
            raise PermissionDenied
        return get_object_or_404(SignupApplication, id=object_id)

    def _back(self, application: SignupApplication) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("admin:signup_signupapplication_change", args=[application.id])
        )

    def approve_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        application = self._object_for_action(request, object_id)
        if request.method != "POST":
            return self._back(application)
        self._apply(request, [application], services.signup_application_approve, "Approved")
        return self._back(application)

    def rerun_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        application = self._object_for_action(request, object_id)
        if request.method != "POST":
            return self._back(application)
        self._apply(
            request,
            [application],
            services.signup_application_rerun_classification,
            "Classification re-run",
        )
        return self._back(application)

    def reject_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        application = self._object_for_action(request, object_id)
        form = RejectForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            self._apply(
                request,
                [application],
                services.signup_application_reject,
                "Rejected",
                reason=form.cleaned_data["reason"],
            )
            return self._back(application)
        return self._reject_page(request, [application], form)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().change_view(request, object_id, form_url, extra)
