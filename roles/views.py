"""Settings → Roles and Settings → People, and the public invitation link (SPEC §4, §9)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate, login
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from fastn_console.console import Tenant
from roles import catalog, selectors, services
from roles.forms import (
    InvitationForm,
    InvitationLoginForm,
    InvitationSignupForm,
    JoinRequestAcceptForm,
    MembershipRoleForm,
    OwnershipTransferForm,
    RoleForm,
    unknown_permission_keys,
)
from roles.models import (
    Invitation,
    InvitationStatus,
    JoinRequest,
    JoinRequestStatus,
    Membership,
    Role,
)
from roles.selectors import OWNER_ONLY, authorize, has_permission, permissions_of

MANAGE_ROLES = "organization.manage_roles"
MANAGE_MEMBERS = "organization.manage_members"
PAGE_SIZE = 25


def _tenant(request: HttpRequest) -> Tenant:
    tenant: Tenant | None = getattr(request, "tenant", None)
    if tenant is None or tenant.is_customer_restricted:
        raise Http404
    return tenant


def _link_base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def _apply_errors(form: Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _get_role_for_request(request: HttpRequest, role_id: uuid.UUID) -> Role:
    _tenant(request)
    role = Role.objects.filter(id=role_id).first()
    if role is None:
        raise Http404
    return role


def _get_membership_for_request(request: HttpRequest, membership_id: uuid.UUID) -> Membership:
    _tenant(request)
    membership = (
        Membership.objects.select_related("user", "role", "restricted_customer")
        .filter(id=membership_id)
        .first()
    )
    if membership is None:
        raise Http404
    return membership


def _get_invitation_for_request(request: HttpRequest, invitation_id: uuid.UUID) -> Invitation:
    _tenant(request)
    invitation = (
        Invitation.objects.select_related("role", "restricted_customer")
        .filter(id=invitation_id)
        .first()
    )
    if invitation is None:
        raise Http404
    return invitation


def _get_join_request_for_request(request: HttpRequest, join_request_id: uuid.UUID) -> JoinRequest:
    _tenant(request)
    join_request = JoinRequest.objects.filter(id=join_request_id).first()
    if join_request is None:
        raise Http404
    return join_request


# --- Roles ----------------------------------------------------------------------------------
# Reading roles needs no key: every organization-wide member may see what each role allows.


def role_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    _tenant(request)
    search = request.GET.get("q", "")
    page = Paginator(selectors.role_list(search=search), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "roles/role_list.html",
        {"page": page, "search": search, "total": len(catalog.PERMISSIONS)},
    )


def role_detail(request: HttpRequest, org_slug: str, role_id: uuid.UUID) -> HttpResponse:
    role = _get_role_for_request(request, role_id)
    keys = set(role.permissions)
    matrix = [
        (label, [(permission, permission.key in keys) for permission in permissions])
        for label, permissions in catalog.by_category()
    ]
    return render(
        request,
        "roles/role_detail.html",
        {
            "role": role,
            "matrix": matrix,
            "total": len(catalog.PERMISSIONS),
            "members": selectors.role_members(role)[:50],
            "member_count": role.memberships.count(),
        },
    )


def _role_form_page(
    request: HttpRequest,
    form: RoleForm,
    *,
    title: str,
    submit: str,
    original: set[str],
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    tenant = _tenant(request)
    held = permissions_of(tenant.membership)
    selected = form.selected_keys()
    matrix = [
        (
            label,
            [
                (
                    permission,
                    permission.key in selected,
                    permission.key not in held and permission.key not in original,
                )
                for permission in permissions
            ],
        )
        for label, permissions in catalog.by_category()
    ]
    context = {
        "form": form,
        "title": title,
        "submit": submit,
        "matrix": matrix,
        "total": len(catalog.PERMISSIONS),
        **(extra or {}),
    }
    return render(request, "roles/role_form.html", context, status=status)


def role_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = _tenant(request)
    authorize(tenant.membership, MANAGE_ROLES, tenant.organization)
    if request.method == "POST":
        if unknown_permission_keys(request.POST):
            return HttpResponseBadRequest("Unknown permission key.")
        form = RoleForm(request.POST, with_restriction=True)
        if form.is_valid():
            try:
                role = services.role_create(
                    acting_user=request.user,
                    organization=tenant.organization,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    permissions=form.cleaned_data["permissions"],
                    customer_restricted=form.cleaned_data.get("customer_restricted", False),
                )
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, f"Created the role {role.name}.")
                return redirect("roles:role_detail", org_slug=org_slug, role_id=role.id)
    else:
        form = RoleForm(with_restriction=True)
    return _role_form_page(
        request, form, title="Create custom role", submit="Create role", original=set()
    )


def role_duplicate(request: HttpRequest, org_slug: str, role_id: uuid.UUID) -> HttpResponse:
    tenant = _tenant(request)
    source = _get_role_for_request(request, role_id)
    authorize(tenant.membership, MANAGE_ROLES, tenant.organization)
    held = permissions_of(tenant.membership)
    left_out = sorted(set(source.permissions) - held)
    if request.method == "POST":
        if unknown_permission_keys(request.POST):
            return HttpResponseBadRequest("Unknown permission key.")
        form = RoleForm(request.POST)
        if form.is_valid():
            try:
                role = services.role_duplicate(
                    acting_user=request.user,
                    source=source,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    permissions=form.cleaned_data["permissions"],
                )
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, f"Created {role.name} as a copy of {source.name}.")
                return redirect("roles:role_detail", org_slug=org_slug, role_id=role.id)
    else:
        form = RoleForm(
            initial={
                "name": services.role_duplicate_name(source),
                "description": source.description,
                "permissions": sorted(set(source.permissions) & held),
            }
        )
    return _role_form_page(
        request,
        form,
        title=f"Duplicate {source.name} as a custom role",
        submit="Create copy",
        original=set(),
        extra={"source": source, "left_out": left_out},
    )


def role_edit(request: HttpRequest, org_slug: str, role_id: uuid.UUID) -> HttpResponse:
    tenant = _tenant(request)
    role = _get_role_for_request(request, role_id)
    authorize(tenant.membership, MANAGE_ROLES, tenant.organization)
    if role.is_system:
        raise PermissionDenied("Built-in roles cannot be changed.")
    if request.method == "POST":
        if unknown_permission_keys(request.POST):
            return HttpResponseBadRequest("Unknown permission key.")
        form = RoleForm(request.POST)
        if form.is_valid():
            try:
                services.role_update(
                    acting_user=request.user,
                    role=role,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    permissions=form.cleaned_data["permissions"],
                )
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, f"Saved the role {role.name}.")
                return redirect("roles:role_detail", org_slug=org_slug, role_id=role.id)
    else:
        form = RoleForm(
            initial={
                "name": role.name,
                "description": role.description,
                "permissions": list(role.permissions),
            }
        )
    return _role_form_page(
        request,
        form,
        title=f"Edit {role.name}",
        submit="Save role",
        original=set(role.permissions),
        extra={"role": role},
    )


def role_delete(request: HttpRequest, org_slug: str, role_id: uuid.UUID) -> HttpResponse:
    tenant = _tenant(request)
    role = _get_role_for_request(request, role_id)
    authorize(tenant.membership, MANAGE_ROLES, tenant.organization)
    if role.is_system:
        raise PermissionDenied("Built-in roles cannot be deleted.")
    error = None
    if request.method == "POST":
        name = role.name
        try:
            services.role_delete(acting_user=request.user, role=role)
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        else:
            messages.success(request, f"Deleted the role {name}.")
            return redirect("roles:role_list", org_slug=org_slug)
    members = list(selectors.role_members(role))
    return render(
        request,
        "roles/role_confirm_delete.html",
        {"role": role, "members": members, "error": error},
        status=409 if error else 200,
    )


# --- People ---------------------------------------------------------------------------------


def _people_tabs(tenant: Tenant) -> dict[str, Any]:
    """What the People tabs and their header show on each of the three pages."""
    return {
        "counts": {
            "members": selectors.membership_list().count(),
            "invitations": selectors.invitation_list().count(),
            "join_requests": selectors.join_request_list().count(),
        },
        "is_owner": has_permission(tenant.membership, OWNER_ONLY, tenant.organization),
    }


def people(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = _tenant(request)
    authorize(tenant.membership, MANAGE_MEMBERS, tenant.organization)
    search = request.GET.get("q", "")
    page = Paginator(selectors.membership_list(search=search), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
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
        {
            "page": page,
            "rows": rows,
            "search": search,
            "tab": "members",
            **_people_tabs(tenant),
        },
    )


def invitation_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = _tenant(request)
    authorize(tenant.membership, MANAGE_MEMBERS, tenant.organization)
    roles = selectors.assignable_roles(tenant.membership)
    form = InvitationForm(request.POST or None, roles=roles)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(
                acting_user=request.user,
                organization=tenant.organization,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                restricted_customer=form.cleaned_data["restricted_customer"],
                link_base=_link_base(request),
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("roles:invitation_list", org_slug=org_slug)
    return render(
        request,
        "roles/person_form.html",
        {
            "form": form,
            "title": "Invite user",
            "intro": "They get an email with a link that is valid for 7 days.",
            "submit": "Send invitation",
        },
    )


def invitation_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = _tenant(request)
    authorize(tenant.membership, MANAGE_MEMBERS, tenant.organization)
    search = request.GET.get("q", "")
    status = request.GET.get("status", InvitationStatus.PENDING)
    if status not in {"", *InvitationStatus.values}:
        status = InvitationStatus.PENDING
    page = Paginator(selectors.invitation_list(search=search, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "roles/invitation_list.html",
        {
            "page": page,
            "search": search,
            "status": status,
            "statuses": InvitationStatus.choices,
            "tab": "invitations",
            **_people_tabs(tenant),
        },
    )


@require_POST
def invitation_resend(
    request: HttpRequest, org_slug: str, invitation_id: uuid.UUID
) -> HttpResponse:
    tenant = _tenant(request)
    invitation = _get_invitation_for_request(request, invitation_id)
    authorize(tenant.membership, MANAGE_MEMBERS, tenant.organization)
    try:
        services.invitation_resend(
            acting_user=request.user, invitation=invitation, link_base=_link_base(request)
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Sent a new link to {invitation.email}.")
    return redirect("roles:invitation_list", org_slug=org_slug)


@require_POST
def invitation_revoke(
    request: HttpRequest, org_slug: str, invitation_id: uuid.UUID
) -> HttpResponse:
    tenant = _tenant(request)
    invitation = _get_invitation_for_request(request, invitation_id)
    authorize(tenant.membership, MANAGE_MEMBERS, tenant.organization)
    try:
        services.invitation_revoke(acting_user=request.user, invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Revoked the invitation to {invitation.email}.")
    return redirect("roles:invitation_list", org_slug=org_slug)


def membership_role(request: HttpRequest, org_slug: str, membership_id: uuid.UUID) -> HttpResponse:
    tenant = _tenant(request)
    membership = _get_membership_for_request(request, membership_id)
    authorize(tenant.membership, MANAGE_MEMBERS, tenant.organization)
    refusal = selectors.membership_change_refusal(tenant.membership, membership)
    if refusal:
        raise PermissionDenied(refusal)
    roles = selectors.assignable_roles(tenant.membership)
    form = MembershipRoleForm(
        request.POST or None,
        roles=roles,
        initial={
            "role": membership.role_id,
            "restricted_customer": membership.restricted_customer_id,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_role_change(
                acting_user=request.user,
                membership=membership,
                role=form.cleaned_data["role"],
                restricted_customer=form.cleaned_data["restricted_customer"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request, f"{membership.user.email} is now {form.cleaned_data['role'].name}."
            )
            return redirect("roles:people", org_slug=org_slug)
    return render(
        request,
        "roles/person_form.html",
        {
            "form": form,
            "title": f"Change role of {membership.user.email}",
            "intro": f"Currently {membership.role.name}.",
            "submit": "Change role",
        },
    )


def membership_remove(
    request: HttpRequest, org_slug: str, membership_id: uuid.UUID
) -> HttpResponse:
    tenant = _tenant(request)
    membership = _get_membership_for_request(request, membership_id)
    authorize(tenant.membership, MANAGE_MEMBERS, tenant.organization)
    refusal = selectors.membership_change_refusal(tenant.membership, membership)
    if refusal:
        raise PermissionDenied(refusal)
    if request.method == "POST":
        email = membership.user.email
        try:
            services.membership_remove(acting_user=request.user, membership=membership)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Removed {email} from {tenant.organization.name}.")
        return redirect("roles:people", org_slug=org_slug)
    return render(request, "roles/membership_confirm_remove.html", {"membership": membership})


def join_request_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = _tenant(request)
    authorize(tenant.membership, MANAGE_MEMBERS, tenant.organization)
    search = request.GET.get("q", "")
    status = request.GET.get("status", JoinRequestStatus.PENDING)
    if status not in {"", *JoinRequestStatus.values}:
        status = JoinRequestStatus.PENDING
    page = Paginator(selectors.join_request_list(search=search, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "roles/join_request_list.html",
        {
            "page": page,
            "search": search,
            "status": status,
            "statuses": JoinRequestStatus.choices,
            "tab": "join_requests",
            **_people_tabs(tenant),
        },
    )


def join_request_accept(
    request: HttpRequest, org_slug: str, join_request_id: uuid.UUID
) -> HttpResponse:
    tenant = _tenant(request)
    join_request = _get_join_request_for_request(request, join_request_id)
    authorize(tenant.membership, MANAGE_MEMBERS, tenant.organization)
    if join_request.status != JoinRequestStatus.PENDING:
        messages.error(request, f"This request is {join_request.get_status_display().lower()}.")
        return redirect("roles:join_request_list", org_slug=org_slug)
    roles = selectors.assignable_roles(tenant.membership)
    form = JoinRequestAcceptForm(request.POST or None, roles=roles)
    if request.method == "POST" and form.is_valid():
        try:
            services.join_request_accept(
                acting_user=request.user,
                join_request=join_request,
                role=form.cleaned_data["role"],
                restricted_customer=form.cleaned_data["restricted_customer"],
                link_base=_link_base(request),
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Accepted {join_request.email}.")
            return redirect("roles:join_request_list", org_slug=org_slug)
    return render(
        request,
        "roles/person_form.html",
        {
            "form": form,
            "title": f"Accept {join_request.email}",
            "intro": "Choose the role they join with. Someone without an account yet gets an "
            "invitation email with this role.",
            "submit": "Accept request",
        },
    )


@require_POST
def join_request_decline(
    request: HttpRequest, org_slug: str, join_request_id: uuid.UUID
) -> HttpResponse:
    tenant = _tenant(request)
    join_request = _get_join_request_for_request(request, join_request_id)
    authorize(tenant.membership, MANAGE_MEMBERS, tenant.organization)
    try:
        services.join_request_decline(acting_user=request.user, join_request=join_request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Declined the request of {join_request.email}.")
    return redirect("roles:join_request_list", org_slug=org_slug)


def ownership_transfer(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = _tenant(request)
    authorize(tenant.membership, OWNER_ONLY, tenant.organization)
    form = OwnershipTransferForm(
        request.POST or None,
        candidates=selectors.ownership_candidates(tenant.membership),
        slug=tenant.organization.slug,
    )
    if request.method == "POST" and form.is_valid():
        new_owner = form.cleaned_data["new_owner"]
        try:
            services.organization_ownership_transfer(
                acting_user=request.user, organization=tenant.organization, new_owner=new_owner
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request,
                f"{new_owner.user.email} now owns {tenant.organization.name}; you are an Admin.",
            )
            return redirect("roles:people", org_slug=org_slug)
    return render(request, "roles/ownership_transfer.html", {"form": form})


# --- The public invitation link ---------------------------------------------------------------


def _after_joining(membership: Membership) -> HttpResponse:
    if membership.restricted_customer_id:
        return redirect(
            "customers:customer_detail",
            org_slug=membership.org.slug,
            customer_id=membership.restricted_customer_id,
        )
    return redirect("customers:home", org_slug=membership.org.slug)


@login_not_required
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Accept an invitation: as the signed-in invitee, with the invitee's existing password, or
    by creating the account. Expired, revoked and used links say so."""
    user = request.user if request.user.is_authenticated else None
    try:
        link = selectors.invitation_link_read(token, user_id=getattr(user, "pk", None))
    except selectors.InvitationLinkError as error:
        status = 404 if isinstance(error, selectors.InvitationLinkInvalid) else 410
        return render(
            request, "roles/invitation_unusable.html", {"reason": str(error)}, status=status
        )
    invitation = link.invitation
    from accounts.models import User

    has_account = User.objects.filter(email__iexact=invitation.email).exists()
    context: dict[str, Any] = {
        "organization": link.organization,
        "invitation": invitation,
        "wrong_user": user is not None and user.email.lower() != invitation.email.lower(),
        "has_account": has_account,
    }
    form: Form | None = None
    if user is None:
        form = (
            InvitationLoginForm(request.POST or None)
            if has_account
            else InvitationSignupForm(request.POST or None, email=invitation.email)
        )
    if request.method == "POST" and not context["wrong_user"]:
        membership = _accept_posted(request, token, user, form, invitation.email)
        if membership is not None:
            messages.success(request, f"Welcome to {link.organization.name}.")
            return _after_joining(membership)
    context["form"] = form
    return render(request, "roles/invitation_accept.html", context)


def _accept_posted(
    request: HttpRequest, token: str, user: Any, form: Form | None, email: str
) -> Membership | None:
    new_account = None
    if form is not None:
        if not form.is_valid():
            return None
        if isinstance(form, InvitationLoginForm):
            user = authenticate(request, username=email, password=form.cleaned_data["password"])
            if user is None:
                form.add_error("password", "That password does not match this account.")
                return None
        else:
            new_account = {
                "password": form.cleaned_data["password1"],
                "full_name": form.cleaned_data["full_name"],
            }
    try:
        membership = services.invitation_accept(token=token, user=user, new_account=new_account)
    except (ValidationError, selectors.InvitationLinkError) as error:
        message = " ".join(getattr(error, "messages", [str(error)]))
        if form is not None:
            form.add_error(None, message)
        else:
            messages.error(request, message)
        return None
    if request.user != membership.user:
        login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
    return membership
