from django.urls import path

from widget import embed_views, views

app_name = "widget"

customer = "<slug:org_slug>/<uuid:customer_id>/"

urlpatterns = [
    path("", views.entry, name="entry"),
    path("embed/", embed_views.embed, name="embed"),
    path(customer, views.home, name="home"),
    path(customer + "connect/<uuid:connector_id>/", views.connect, name="connect"),
    path(
        customer + "connections/<uuid:connection_id>/reconnect/",
        views.reconnect,
        name="reconnect",
    ),
    path(
        customer + "connections/<uuid:connection_id>/test/",
        views.try_connection,
        name="connection_test",
    ),
    path(
        customer + "connections/<uuid:connection_id>/disconnect/",
        views.disconnect,
        name="disconnect",
    ),
    path(
        customer + "configuration/<uuid:config_id>/",
        views.edit_configuration,
        name="configuration",
    ),
    path(customer + "token/refresh/", views.refresh_token, name="token_refresh"),
    path(customer + "oauth/callback/", views.oauth_callback, name="oauth_callback"),
]
