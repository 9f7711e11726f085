"""Writes for organizations and customers. Each runs inside a tenant scope and audits.

By concern: ``organizations`` (creation, general settings, staff changes), ``customers``
(creation under the plan's cap, edits, activation, the upsert by external ID), ``imports``
(Import customers from CSV), ``email_domain`` (the verified domain
change), ``deletion`` (the two-step deletion and the purges its tasks run).

Import the functions from ``customers.services``.
"""

from customers.services.customers import (
    STATUS_CHANGES,
    UPSERT_CREATED,
    UPSERT_UNCHANGED,
    UPSERT_UPDATED,
    customer_create,
    customer_status_change,
    customer_update,
    customer_upsert_by_external_id,
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
from customers.services.imports import (
    customer_import_create,
    customer_import_record_error,
    customer_import_run,
    customer_import_start,
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
    "UPSERT_CREATED",
    "UPSERT_UNCHANGED",
    "UPSERT_UPDATED",
    "customer_create",
    "customer_delete_request",
    "customer_import_create",
    "customer_import_record_error",
    "customer_import_run",
    "customer_import_start",
    "customer_purge",
    "customer_status_change",
    "customer_update",
    "customer_upsert_by_external_id",
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
