"""The public invitation link, outside any organization's URLs: whoever follows it is not a
member yet, and its signed token carries the organization (SPEC §5.7)."""

from django.urls import path

from roles import views

app_name = "invitations"

urlpatterns = [
    path("<str:token>/", views.invitation_accept, name="accept"),
]
