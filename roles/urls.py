"""Included at ``/o/<org_slug>/settings/``."""

from django.urls import path

from roles import views

app_name = "roles"

urlpatterns = [
    path("roles/", views.role_list, name="role_list"),
    path("roles/new/", views.role_create, name="role_create"),
    path("roles/<uuid:role_id>/", views.role_detail, name="role_detail"),
    path("roles/<uuid:role_id>/edit/", views.role_edit, name="role_edit"),
    path("roles/<uuid:role_id>/duplicate/", views.role_duplicate, name="role_duplicate"),
    path("roles/<uuid:role_id>/delete/", views.role_delete, name="role_delete"),
    path("people/", views.people, name="people"),
    path("people/invite/", views.invitation_create, name="invite"),
    path("people/invitations/", views.invitation_list, name="invitation_list"),
    path(
        "people/invitations/<uuid:invitation_id>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "people/invitations/<uuid:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path(
        "people/members/<uuid:membership_id>/role/",
        views.membership_role,
        name="membership_role",
    ),
    path(
        "people/members/<uuid:membership_id>/remove/",
        views.membership_remove,
        name="membership_remove",
    ),
    path("people/join-requests/", views.join_request_list, name="join_request_list"),
    path(
        "people/join-requests/<uuid:join_request_id>/accept/",
        views.join_request_accept,
        name="join_request_accept",
    ),
    path(
        "people/join-requests/<uuid:join_request_id>/decline/",
        views.join_request_decline,
        name="join_request_decline",
    ),
    path("people/transfer-ownership/", views.ownership_transfer, name="ownership_transfer"),
]
