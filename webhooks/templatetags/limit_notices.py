"""``{% limit_banner %}``: the console banner of limit notices (SPEC §12), one line in the layout.

Shown on console pages to members who may see billing (``billing.read``); the notices come
from ``webhooks.selectors.limit_banners``, in the page's own tenant scope (a customer's page
shows that customer's notices).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from fastn_console.console import Tenant
from webhooks.selectors import limit_banners

register = template.Library()


@register.inclusion_tag("webhooks/_limit_banner.html", takes_context=True)
def limit_banner(context: template.Context) -> dict[str, Any]:
    tenant = context.get("tenant")
    if not isinstance(tenant, Tenant) or not tenant.can("billing.read"):
        return {"banners": []}
    with tenant.entered():
        banners = limit_banners()
    billing_url = reverse("billing:overview", kwargs={"org_slug": tenant.organization.slug})
    return {"banners": banners, "billing_url": billing_url}
