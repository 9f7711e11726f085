"""Staff see roles, members, invitations and join requests read-only: changes go through the
services in the console, which keep guardian grants in sync and write the audit log."""

from __future__ import annotations

from django.contrib import admin

from customers.admin import ReadOnlyAdmin
from roles import catalog
from roles.models import Invitation, JoinRequest, Membership, Role


@admin.register(Role)
class RoleAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "org",
        "is_system",
        "permission_count",
        "customer_restricted",
        "updated_at",
    ]
    list_filter = ["is_system", "customer_restricted", "org"]
    search_fields = ["name", "org__name", "org__slug"]
    list_select_related = ["org"]
    ordering = ["org__name", "-is_system", "name"]
    fields = readonly_fields = (
        "id",
        "org",
        "name",
        "description",
        "is_system",
        "system_key",
        "customer_restricted",
        "permissions",
        "created_at",
        "updated_at",
    )

    @admin.display(description="Permissions")
    def permission_count(self, role: Role) -> str:
        return f"{len(role.permissions)} of {len(catalog.PERMISSIONS)}"


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "org", "role", "restricted_customer", "status", "created_at"]
    list_filter = ["status", "org"]
    search_fields = ["user__email", "org__name", "org__slug", "role__name"]
    list_select_related = ["user", "org", "role", "restricted_customer"]
    ordering = ["org__name", "user__email"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = [
        "email",
        "org",
        "role",
        "restricted_customer",
        "status",
        "invited_by",
        "expires_at",
        "created_at",
    ]
    list_filter = ["status", "org"]
    search_fields = ["email", "org__name", "org__slug"]
    list_select_related = ["org", "role", "restricted_customer", "invited_by"]
    ordering = ["-created_at"]


@admin.register(JoinRequest)
class JoinRequestAdmin(ReadOnlyAdmin):
    list_display = ["email", "full_name", "org", "status", "user", "created_at"]
    list_filter = ["status", "org"]
    search_fields = ["email", "full_name", "org__name", "org__slug"]
    list_select_related = ["org", "user"]
    ordering = ["-created_at"]
