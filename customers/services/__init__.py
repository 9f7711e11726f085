"""Writes for organizations and customers. Each runs inside a tenant scope and audits.

By concern: ``organizations`` (creation, general settings, staff changes), ``customers``
(creation under the plan's cap, edits, activation), ``email_domain`` (the verified domain
change), ``deletion`` (the two-step deletion and the purges its tasks run).

Import the functions from ``customers.services``.
"""

from customers.services.customers import (
    STATUS_CHANGES,
    customer_create,
    customer_status_change,
    customer_update,
)
from customers.services.deletion import (
    customer_delete_request,
    customer_purge,
    organization_delete_request,
    organization_purge,
)
from customers.services.email_domain import (
    DOMAIN_TOKEN_MAX_AGE,
    DOMAIN_TOKEN_SALT,
    domain_token,
    domain_token_read,
    organization_email_domain_approve,
    organization_email_domain_cancel,
    organization_email_domain_confirm,
    organization_email_domain_request,
)
from customers.services.organizations import (
    organization_create,
    organization_staff_change,
    organization_update,
)

__all__ = [
    "DOMAIN_TOKEN_MAX_AGE",
    "DOMAIN_TOKEN_SALT",
    "STATUS_CHANGES",
    "customer_create",
    "customer_delete_request",
    "customer_purge",
    "customer_status_change",
    "customer_update",
    "domain_token",
    "domain_token_read",
    "organization_create",
    "organization_delete_request",
    "organization_email_domain_approve",
    "organization_email_domain_cancel",
    "organization_email_domain_confirm",
    "organization_email_domain_request",
    "organization_purge",
    "organization_staff_change",
    "organization_update",
]
