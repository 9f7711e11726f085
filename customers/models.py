from __future__ import annotations

import uuid
from typing import Self

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import JSONField, Q, Value

from roles.catalog import django_permissions
from tenancy.managers import ScopedManager


class Region(models.TextChoices):
    US = "us", "United States"
    EU = "eu", "European Union"
    APAC = "apac", "Asia-Pacific"


class Plan(models.Model):
    """A billing plan. Not org-scoped: every organization reads the same plans."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=60)
    monthly_price_cents = models.PositiveIntegerField(default=0)
    sort_order = models.PositiveSmallIntegerField(default=0)
    limits = models.JSONField(default=dict)

    class Meta:
        ordering = ["sort_order"]

    def __str__(self) -> str:
        return self.name


class OrganizationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PROVISIONAL = "provisional", "Provisional"
    SUSPENDED = "suspended", "Suspended"
    DELETING = "deleting", "Deleting"


# SPEC §3: an organization or customer being deleted is hidden from every list and URL.
HIDDEN_ORGANIZATION_STATES = frozenset({OrganizationStatus.DELETING})


class _LiveQuerySet[M: models.Model](models.QuerySet[M]):
    hidden_states: frozenset[str]

    def live(self) -> Self:
        """Rows that are not being deleted (SPEC §3: deleting is hidden)."""
        return self.exclude(status__in=self.hidden_states)


class OrganizationQuerySet(_LiveQuerySet["Organization"]):
    hidden_states = HIDDEN_ORGANIZATION_STATES


class Organization(models.Model):
    """A SaaS company using the platform. Also the object django-guardian grants are held on."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    email_domain = models.CharField(max_length=253, unique=True, null=True, blank=True)
    email_domain_verified = models.BooleanField(default=False)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="organizations")
    status = models.CharField(
        max_length=20, choices=OrganizationStatus.choices, default=OrganizationStatus.ACTIVE
    )
    default_region = models.CharField(max_length=8, choices=Region.choices, default=Region.US)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_organizations"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # SPEC §14: members without two-factor authentication are sent to set it up before any
    # of this organization's pages (accounts.middleware).
    require_two_factor = models.BooleanField(default=False)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        default_permissions = ()
        permissions = django_permissions()
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EmailDomainChange(models.Model):
    """A requested email-domain change, waiting for its emailed link (or staff) to be applied.

    Not on ``Organization``: every organization row is readable to the runtime login (SPEC
    §5.5, for the duplicate-domain check and slug resolution), while the domain an organization
    is moving to and the address its link went to are that organization's own business, and
    only organization-wide principals of it read them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="email_domain_change"
    )
    domain = models.CharField(max_length=253)
    sent_to = models.EmailField(blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager["EmailDomainChange"]()

    def __str__(self) -> str:
        return self.domain


class CustomerStatus(models.TextChoices):
    PENDING_ACTIVATION = "pending_activation", "Pending activation"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    RELOCATING = "relocating", "Relocating"
    DELETING = "deleting", "Deleting"


HIDDEN_CUSTOMER_STATES = frozenset({CustomerStatus.DELETING})


class CustomerQuerySet(_LiveQuerySet["Customer"]):
    hidden_states = HIDDEN_CUSTOMER_STATES


class Customer(models.Model):
    """An organization's end customer (tenant). Its UUID is the customer ID users copy."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="customers")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80)
    external_id = models.CharField(max_length=120, null=True, blank=True)
    status = models.CharField(
        max_length=24, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE
    )
    region = models.CharField(max_length=8, choices=Region.choices, default=Region.US)
    created_at = models.DateTimeField(auto_now_add=True)
    # SPEC §13: ``key: value`` strings and a JSON object of at most 16 KB; their rules live in
    # ``customers.labels``.
    # (``db_default`` too: rows inserted in SQL — benchmarks, bulk loads — get ``{}`` as well.)
    labels = models.JSONField(default=dict, db_default=Value({}, JSONField()), blank=True)
    metadata = models.JSONField(default=dict, db_default=Value({}, JSONField()), blank=True)
    # The signing secret of the customer's inbound webhook URL (``dataplane.inbound``), encrypted
    # with FIELD_ENCRYPTION_KEYS; empty until one is created (the URL answers 404 until then).
    inbound_secret_encrypted = models.TextField(blank=True, default="", db_default="")

    objects = ScopedManager.from_queryset(CustomerQuerySet)(customer_field="id")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "id"], name="customers_customer_org_id_uniq"),
            models.UniqueConstraint(fields=["org", "slug"], name="customers_customer_slug_uniq"),
            models.UniqueConstraint(
                fields=["org", "external_id"],
                condition=Q(external_id__isnull=False),
                name="customers_customer_external_id_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["org", "name"], name="customers_org_name_idx"),
            # The label filter is a containment test (labels @> '{"env": "prod"}').
            GinIndex(fields=["labels"], name="customers_labels_idx", opclasses=["jsonb_path_ops"]),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomerLimitOverride(models.Model):
    """A per-customer override of one plan limit."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, db_constraint=False, related_name="limit_overrides"
    )
    limit_key = models.CharField(max_length=60)
    value = models.BigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager["CustomerLimitOverride"](customer_field="customer_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "customer", "limit_key"], name="customers_override_key_uniq"
            ),
        ]


class OrganizationDeletion(models.Model):
    """The durable trace of an organization's deletion, started and finished.

    Every org-scoped row (the audit log included) goes with the organization, so this record
    deliberately carries no ``org_id``: it outlives the organization for the staff admin.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    former_org_id = models.UUIDField(unique=True)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60)
    requested_by_email = models.EmailField(blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    removed = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class CustomerImportStatus(models.TextChoices):
    PREVIEW = "preview", "Ready to import"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Finished"
    FAILED = "failed", "Stopped by an error"


class CustomerImport(models.Model):
    """One CSV import of customers (SPEC §13): the checked rows, then each row's outcome.

    ``rows`` holds the file's rows as the preview checked them (``line``, the fields, and
    ``errors``); the run adds ``outcome``, ``customer_id`` and ``message`` to each, chunk by
    chunk, in the transaction that applies the chunk. ``processed`` says how far it got, so a
    retried task resumes there (``customers.services.imports``).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=12, choices=CustomerImportStatus.choices, default=CustomerImportStatus.PREVIEW
    )
    rows = models.JSONField(default=list)
    total_rows = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager["CustomerImport"]()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename or str(self.id)
