"""A customer's events, under ``/o/<org_slug>/customers/<uuid:customer_id>/events/``."""

from django.urls import path

from dataplane.views import events

app_name = "events"

urlpatterns = [
    path("", events.events, name="event_list"),
    path("inbound-secret/", events.inbound_secret, name="inbound_secret"),
    path("<uuid:event_id>/", events.event_detail, name="event_detail"),
]
