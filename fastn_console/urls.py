"""URL map. Console pages live under ``/o/<org_slug>/``; the tenancy middleware resolves the
organization (and ``customer_id``) from these kwargs before any view runs."""

from django.contrib import admin
from django.urls import include, path

from api import inbound
from dataplane.views.connections import oauth_callback
from fastn_console import health

org = "o/<slug:org_slug>/"
customer = org + "customers/<uuid:customer_id>/"

# A database or Redis that is away answers 503 with Retry-After, not 500
# (fastn_console.unavailable).
handler500 = "fastn_console.unavailable.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("healthz/live", health.live, name="healthz_live"),
    path("healthz/ready", health.ready, name="healthz_ready"),
    path("accounts/", include("accounts.urls")),
    path("sso/", include("sso.urls")),
    path("invitations/", include("roles.invitation_urls")),
    path("signup/", include("signup.urls")),
    path("widget/", include("widget.urls")),
    # The one OAuth redirect URI registered with providers (dataplane/oauth.py).
    path("oauth/callback/", oauth_callback, name="oauth_callback"),
    path("api/v1/", include("api.endpoints")),
    # A customer's inbound webhook (api/inbound.py): signed by the customer's own secret.
    path(
        "hooks/<slug:organization>/<uuid:customer_id>/<str:event_name>",
        inbound.receive,
        name="inbound_webhook",
    ),
    path(org + "settings/audit/", include("audit.urls")),
    path(org + "settings/security/", include("accounts.security_urls")),
    path(org + "settings/sso/", include("sso.settings_urls")),
    path(org + "settings/billing/", include("billing.urls")),
    path(org + "settings/api-keys/", include("api.urls")),
    path(org + "settings/webhooks/", include("webhooks.urls")),
    path(org + "settings/general/embedding/", include("widget.settings_urls")),
    path(org + "settings/", include("roles.urls")),
    path(org + "build/", include("build.urls")),
    path(customer + "events/", include("dataplane.event_urls")),
    path(customer, include("dataplane.urls")),
    path(org, include("residency.urls")),
    path(org, include("customers.urls")),
    path("", include("accounts.home_urls")),
]
