"""Staff admin for organizations, customers and plans. Runs in the platform scope.

Staff change an organization's plan or status here, and approve a pending email-domain change
without its emailed link; each change goes through a service that audits it. Customers and
limit overrides are shown read-only: organizations manage them in their console.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, F, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from customers import services
from customers.models import (
    HIDDEN_ORGANIZATION_STATES,
    Customer,
    CustomerLimitOverride,
    Organization,
    OrganizationDeletion,
    OrganizationStatus,
    Plan,
)

STAFF_STATUSES = [
    (value, label)
    for value, label in OrganizationStatus.choices
    if value not in HIDDEN_ORGANIZATION_STATES
]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrganizationAdminForm(forms.ModelForm):
    status = forms.ChoiceField(choices=STAFF_STATUSES)

    class Meta:
        model = Organization
        fields = ["plan", "status"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    form = OrganizationAdminForm
    list_display = [
        "name",
        "slug",
        "email_domain",
        "pending_email_domain",
        "plan",
        "status",
        "default_region",
        "customer_count",
        "created_at",
    ]
    list_filter = ["plan", "status", "default_region", "email_domain_verified"]
    search_fields = ["name", "slug", "email_domain", "email_domain_change__domain"]
    list_select_related = ["plan", "owner"]
    ordering = ["name"]
    readonly_fields = [
        "id",
        "name",
        "slug",
        "owner",
        "email_domain",
        "email_domain_verified",
        "pending_email_domain",
        "pending_email_domain_sent_to",
        "default_region",
        "created_at",
    ]
    fieldsets = [
        (None, {"fields": ["id", "name", "slug", "owner", "created_at"]}),
        (
            "Plan and status",
            {
                "fields": ["plan", "status"],
                "description": "Changes are audited in the organization's log.",
            },
        ),
        (
            "Email domain",
            {
                "fields": [
                    "email_domain",
                    "email_domain_verified",
                    "pending_email_domain",
                    "pending_email_domain_sent_to",
                ]
            },
        ),
        ("Residency", {"fields": ["default_region"]}),
    ]
    actions = ["approve_pending_domain"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_customers=Count("customers"),
                pending_domain=F("email_domain_change__domain"),
                pending_sent_to=F("email_domain_change__sent_to"),
            )
        )

    @admin.display(description="Customers", ordering="n_customers")
    def customer_count(self, obj: Any) -> int:
        return int(getattr(obj, "n_customers", 0))

    # The pending change lives in its own organization-only table (``EmailDomainChange``).
    @admin.display(description="Pending email domain", ordering="pending_domain")
    def pending_email_domain(self, obj: Any) -> str:
        return str(getattr(obj, "pending_domain", None) or "")

    @admin.display(description="Pending email domain sent to")
    def pending_email_domain_sent_to(self, obj: Any) -> str:
        return str(getattr(obj, "pending_sent_to", None) or "")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # organizations come from signup

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # owners delete through Settings → General (state `deleting` + task)

    def save_model(self, request: HttpRequest, obj: Organization, form: Any, change: bool) -> None:
        original = Organization.objects.get(id=obj.id)
        changes: dict[str, Any] = {}
        if obj.plan_id != original.plan_id:
            changes["plan"] = obj.plan
        if obj.status != original.status:
            changes["status"] = obj.status
        if changes:
            original.refresh_from_db()
            services.organization_staff_change(
                acting_user=request.user, organization=original, changes=changes
            )

    @admin.action(description="Approve the pending email domain")
    def approve_pending_domain(
        self, request: HttpRequest, queryset: QuerySet[Organization]
    ) -> None:
        for organization in queryset:
            try:
                services.organization_email_domain_approve(
                    acting_user=request.user, organization=organization
                )
            except ValidationError as exc:
                self.message_user(request, f"{organization}: {exc.messages[0]}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{organization}: email domain is now {organization.email_domain}."
                )


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["name", "id", "org", "external_id", "region", "status", "created_at"]
    list_filter = ["status", "region", "org__plan"]
    search_fields = ["name", "external_id", "slug", "org__name", "org__slug"]
    list_select_related = ["org"]
    ordering = ["org__name", "name"]
    show_full_result_count = False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str
    ) -> tuple[QuerySet[Customer], bool]:
        try:
            return queryset.filter(id=uuid.UUID(search_term.strip())), False
        except ValueError:
            return super().get_search_results(request, queryset, search_term)


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdmin):
    list_display = ["name", "code", "price", "sort_order"]
    fields = ["name", "code", "price", "limits_table"]
    readonly_fields = ["name", "code", "price", "limits_table"]

    @admin.display(description="Price per month")
    def price(self, obj: Plan) -> str:
        return f"${obj.monthly_price_cents / 100:,.2f}"

    @admin.display(description="Limits")
    def limits_table(self, obj: Plan) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.limits, indent=2))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_staff)


@admin.register(CustomerLimitOverride)
class CustomerLimitOverrideAdmin(ReadOnlyAdmin):
    list_display = ["customer", "org", "limit_key", "value", "updated_at"]
    list_filter = ["limit_key"]
    search_fields = ["customer__name", "org__name", "org__slug"]
    list_select_related = ["customer", "org"]


@admin.register(OrganizationDeletion)
class OrganizationDeletionAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "slug",
        "former_org_id",
        "requested_by_email",
        "requested_at",
        "finished_at",
    ]
    search_fields = ["name", "slug", "requested_by_email"]
