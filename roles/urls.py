"""Included at ``/o/<org_slug>/settings/``."""

from django.urls import path

from fastn_console.routes import object_actions
from roles import views

app_name = "roles"

role = "roles/<uuid:role_id>/"

urlpatterns = [
    path("roles/", views.role_list, name="role_list"),
    path("roles/new/", views.role_create, name="role_create"),
    path(role, views.role_detail, name="role_detail"),
    *object_actions(role, views, "role", "edit", "duplicate", "delete"),
    path("people/", views.people, name="people"),
    path("people/invite/", views.invitation_create, name="invite"),
    path("people/invitations/", views.invitation_list, name="invitation_list"),
    *object_actions(
        "people/invitations/<uuid:invitation_id>/", views, "invitation", "resend", "revoke"
    ),
    *object_actions("people/members/<uuid:membership_id>/", views, "membership", "role", "remove"),
    path("people/join-requests/", views.join_request_list, name="join_request_list"),
    *object_actions(
        "people/join-requests/<uuid:join_request_id>/", views, "join_request", "accept", "decline"
    ),
    path("people/transfer-ownership/", views.ownership_transfer, name="ownership_transfer"),
]
