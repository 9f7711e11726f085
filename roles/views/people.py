"""Settings → People: members and their roles, join requests, the ownership transfer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet, TextChoices
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from fastn_console.console import Tenant, button_action, form_saved, organization_wide
from roles import catalog, selectors, services
from roles.forms import JoinRequestAcceptForm, MembershipRoleForm, OwnershipTransferForm
from roles.models import JoinRequestStatus, Membership
from roles.views.common import (
    get_join_request_for_user,
    get_membership_for_user,
    link_base,
    page_of,
    person_form,
    status_filter,
)


def people_tabs(tenant: Tenant) -> dict[str, Any]:
    """What the People tabs and their header show on each of the three pages."""
    return {
        "counts": {
            "members": selectors.membership_list().count(),
            "invitations": selectors.invitation_list().count(),
            "join_requests": selectors.join_request_list().count(),
        },
        "is_owner": tenant.can(catalog.OWNER_ONLY),
    }


def people(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request, catalog.MANAGE_MEMBERS)
    search = request.GET.get("q", "")
    page = page_of(request, selectors.membership_list(search=search))
    actor = tenant.membership
    rows = [
        {
            "membership": membership,
            "is_owner": membership.user_id == tenant.organization.owner_id,
            "is_you": membership.user_id == actor.user_id,
            "refusal": selectors.membership_change_refusal(actor, membership),
        }
        for membership in page.object_list
    ]
    return render(
        request,
        "roles/people.html",
        {"page": page, "rows": rows, "search": search, "tab": "members", **people_tabs(tenant)},
    )


def _changeable_member(request: HttpRequest, membership_id: uuid.UUID) -> tuple[Tenant, Membership]:
    """The member whose role the acting member may change, or remove; 403 with the reason."""
    membership = get_membership_for_user(request, membership_id)
    tenant = organization_wide(request, catalog.MANAGE_MEMBERS)
    refusal = selectors.membership_change_refusal(tenant.membership, membership)
    if refusal:
        raise PermissionDenied(refusal)
    return tenant, membership


def membership_role(request: HttpRequest, org_slug: str, membership_id: uuid.UUID) -> HttpResponse:
    tenant, membership = _changeable_member(request, membership_id)
    form = MembershipRoleForm(
        request.POST or None,
        roles=selectors.assignable_roles(tenant.membership),
        initial={
            "role": membership.role_id,
            "restricted_customer": membership.restricted_customer_id,
        },
    )
    changed = form_saved(
        request,
        form,
        lambda: services.membership_role_change(
            acting_user=request.user,
            membership=membership,
            **form.assignment(),
        ),
    )
    if changed is not None:
        messages.success(
            request, f"{membership.user.email} is now {form.cleaned_data['role'].name}."
        )
        return redirect("roles:people", org_slug=org_slug)
    return person_form(
        request,
        form,
        title=f"Change role of {membership.user.email}",
        intro=f"Currently {membership.role.name}.",
        submit="Change role",
    )


def membership_remove(
    request: HttpRequest, org_slug: str, membership_id: uuid.UUID
) -> HttpResponse:
    tenant, membership = _changeable_member(request, membership_id)
    if request.method != "POST":
        return render(request, "roles/membership_confirm_remove.html", {"membership": membership})
    return button_action(
        request,
        lambda: services.membership_remove(acting_user=request.user, membership=membership),
        done=f"Removed {membership.user.email} from {tenant.organization.name}.",
        then="roles:people",
        org_slug=org_slug,
    )


def status_list_page(
    request: HttpRequest,
    *,
    template: str,
    tab: str,
    statuses: type[TextChoices],
    default: str,
    rows: Callable[..., QuerySet[Any]],
) -> HttpResponse:
    """A People tab listing rows by status (invitations, join requests), searchable and paged,
    for members who manage people."""
    tenant = organization_wide(request, catalog.MANAGE_MEMBERS)
    search = request.GET.get("q", "")
    status = status_filter(request, statuses.values, default)
    return render(
        request,
        template,
        {
            "page": page_of(request, rows(search=search, status=status)),
            "search": search,
            "status": status,
            "statuses": statuses.choices,
            "tab": tab,
            **people_tabs(tenant),
        },
    )


# --- Join requests ----------------------------------------------------------------------------


def join_request_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    return status_list_page(
        request,
        template="roles/join_request_list.html",
        tab="join_requests",
        statuses=JoinRequestStatus,
        default=JoinRequestStatus.PENDING,
        rows=selectors.join_request_list,
    )


def join_request_accept(
    request: HttpRequest, org_slug: str, join_request_id: uuid.UUID
) -> HttpResponse:
    join_request = get_join_request_for_user(request, join_request_id)
    tenant = organization_wide(request, catalog.MANAGE_MEMBERS)
    if join_request.status != JoinRequestStatus.PENDING:
        messages.error(request, f"This request is {join_request.get_status_display().lower()}.")
        return redirect("roles:join_request_list", org_slug=org_slug)
    form = JoinRequestAcceptForm(
        request.POST or None, roles=selectors.assignable_roles(tenant.membership)
    )
    accepted = form_saved(
        request,
        form,
        lambda: services.join_request_accept(
            acting_user=request.user,
            join_request=join_request,
            link_base=link_base(request),
            **form.assignment(),
        ),
    )
    if accepted is not None:
        messages.success(request, f"Accepted {join_request.email}.")
        return redirect("roles:join_request_list", org_slug=org_slug)
    return person_form(
        request,
        form,
        title=f"Accept {join_request.email}",
        intro="Choose the role they join with. Someone without an account yet gets an "
        "invitation email with this role.",
        submit="Accept request",
    )


@require_POST
def join_request_decline(
    request: HttpRequest, org_slug: str, join_request_id: uuid.UUID
) -> HttpResponse:
    join_request = get_join_request_for_user(request, join_request_id)
    organization_wide(request, catalog.MANAGE_MEMBERS)
    return button_action(
        request,
        lambda: services.join_request_decline(acting_user=request.user, join_request=join_request),
        done=f"Declined the request of {join_request.email}.",
        then="roles:join_request_list",
        org_slug=org_slug,
    )


# --- Ownership --------------------------------------------------------------------------------


def ownership_transfer(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = organization_wide(request, catalog.OWNER_ONLY)
    form = OwnershipTransferForm(
        request.POST or None,
        candidates=selectors.ownership_candidates(tenant.membership),
        slug=tenant.organization.slug,
    )
    transferred = form_saved(
        request,
        form,
        lambda: services.organization_ownership_transfer(
            acting_user=request.user,
            organization=tenant.organization,
            new_owner=form.cleaned_data["new_owner"],
        ),
    )
    if transferred is not None:
        messages.success(
            request,
            f"{form.cleaned_data['new_owner'].user.email} now owns {tenant.organization.name}; "
            "you are an Admin.",
        )
        return redirect("roles:people", org_slug=org_slug)
    return render(request, "roles/ownership_transfer.html", {"form": form})
