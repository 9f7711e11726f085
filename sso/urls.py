"""Included at ``/sso/``: the login page's email step and the identity provider's way back."""

from django.urls import path

from sso import views

app_name = "sso"

urlpatterns = [
    path("lookup/", views.lookup, name="lookup"),
    path("callback/", views.callback, name="callback"),
]
