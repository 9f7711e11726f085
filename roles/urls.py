"""Included at ``/o/<org_slug>/settings/``."""

from django.urls import path

from roles import views

app_name = "roles"

role = "roles/<uuid:role_id>/"
invitation = "people/invitations/<uuid:invitation_id>/"
member = "people/members/<uuid:membership_id>/"
join_request = "people/join-requests/<uuid:join_request_id>/"

urlpatterns = [
    path("roles/", views.role_list, name="role_list"),
    path("roles/new/", views.role_create, name="role_create"),
    path(role, views.role_detail, name="role_detail"),
    path(role + "edit/", views.role_edit, name="role_edit"),
    path(role + "duplicate/", views.role_duplicate, name="role_duplicate"),
    path(role + "delete/", views.role_delete, name="role_delete"),
    path("people/", views.people, name="people"),
    path("people/invite/", views.invitation_create, name="invite"),
    path("people/invitations/", views.invitation_list, name="invitation_list"),
    path(invitation + "resend/", views.invitation_resend, name="invitation_resend"),
    path(invitation + "revoke/", views.invitation_revoke, name="invitation_revoke"),
    path(member + "role/", views.membership_role, name="membership_role"),
    path(member + "remove/", views.membership_remove, name="membership_remove"),
    path("people/join-requests/", views.join_request_list, name="join_request_list"),
    path(join_request + "accept/", views.join_request_accept, name="join_request_accept"),
    path(join_request + "decline/", views.join_request_decline, name="join_request_decline"),
    path("people/transfer-ownership/", views.ownership_transfer, name="ownership_transfer"),
]
