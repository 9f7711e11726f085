"""Tenancy: how Fastn Console keeps every organization and customer apart.

PostgreSQL enforces isolation with row-level security; this package is everything the
application does to cooperate with it. It imports no domain app: the one domain fact it needs,
a customer's region, it reads from the model named by ``settings.TENANCY_CUSTOMER_MODEL`` (as
Django reads ``AUTH_USER_MODEL``). Each piece fails closed:

``tenancy.context(org_id=…, customer_id=None, role=…, user_id=…)``
    The only way into a scope. It opens a transaction on the main alias and on every region
    alias the scope may touch; ``set_config(…, true)`` (transaction-local, so nothing survives
    into a pooled connection's next transaction) reaches each connection in the message of its
    first query there, and the previous values come back on exit. Without it the policies see
    no ``app.org_id`` and return zero rows. On a region database of its own the same message
    enters the scope's database role (``tenancy.scope_roles``): the data-plane policies there
    name only the two scope roles, so the runtime login itself sees no row, whatever its
    settings. ``tenancy.context.standalone_reads()`` lets a plain read on a database whose
    transaction has not begun be a transaction of its own (the organization-wide reads of
    every region: one round trip each, no BEGIN or COMMIT).

``tenancy.platform_scope()``
    The explicit, loudly named unfiltered scope the staff admin runs in. Queries go to the
    ``platform`` aliases (login ``fastn_platform``), which have their own policies.

``ScopedManager`` (``tenancy.managers``)
    Default manager of every org-scoped model. It adds the scope filter and raises
    ``TenantContextMissing`` when there is no scope: that is a bug and never shown to users.
    ``Model.objects.unscoped()`` is the one escape hatch, and RLS still applies to it.

``TenantRouter`` (``tenancy.router``)
    Sends control-plane models to the main database and data-plane models to the current
    customer's region database; a data-plane query without a customer (or an explicit
    ``.using(region alias)``) raises ``TenantContextMissing``.

Entry points (outside this package, because they compose it with the domain apps)
    ``fastn_console.middleware.TenantContextMiddleware`` resolves ``/o/<org_slug>/…`` itself,
    finds the membership under ``app.user_id`` (404 when there is none), runs the view inside
    the context and rolls back on an exception or a 5xx; ``fastn_console.console`` gives views
    the typed ``Tenant``. The API's key resolver (``api.auth``), the widget's token resolver
    (``widget.access``) and ``tenancy.tasks.tenant_task`` for Celery enter the same context.

Migration operations (``tenancy.operations``)
    ``EnableTenantRLS`` writes ENABLE + FORCE row-level security and the policies in the same
    migration that creates a table, and ``tenancy.scope_roles.ScopeRolePolicies`` gives a
    data-plane table to the scope roles; ``AddCompositeForeignKey`` writes the ``NOT DEFERRABLE``
    composite foreign keys that stop a row from pointing at another tenant's parent.

System check (``tenancy.checks``)
    Refuses to run when the runtime login could bypass RLS or a scoped table lacks its
    policies. Silent inside ``migrate``; run at WSGI start-up, in Celery's ``worker_init``,
    by ``manage.py check --database default`` and in the test suite.
"""

from tenancy.context import (
    CUSTOMER,
    ORGANIZATION,
    Scope,
    TenantContextMissing,
    atomic,
    context,
    current_scope,
    on_commit,
    platform_scope,
    region_alias,
    require_scope,
    scope_aliases,
)

__all__ = [
    "CUSTOMER",
    "ORGANIZATION",
    "Scope",
    "TenantContextMissing",
    "atomic",
    "context",
    "current_scope",
    "on_commit",
    "platform_scope",
    "region_alias",
    "require_scope",
    "scope_aliases",
]
