from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models


def new_status_token() -> str:
    return secrets.token_urlsafe(32)


class SignupStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    REJECTED = "rejected", "Rejected"
    MANUAL_REVIEW = "manual_review", "Manual review"
    APPROVED = "approved", "Approved"
    PROVISIONAL = "provisional", "Provisional"


class SignupApplication(models.Model):
    """One partner signup and its pipeline record. Platform-level: no organization yet."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status_token = models.CharField(max_length=64, unique=True, default=new_status_token)
    full_name = models.CharField(max_length=150)
    email = models.EmailField()
    company_name = models.CharField(max_length=120)
    company_website = models.URLField()
    password_hash = models.CharField(max_length=256)
    status = models.CharField(
        max_length=20, choices=SignupStatus.choices, default=SignupStatus.PENDING
    )
    email_domain = models.CharField(
        max_length=253, blank=True, help_text="The registrable domain of the work email."
    )
    reason = models.CharField(max_length=80, blank=True)
    hint = models.CharField(max_length=200, blank=True)
    steps = models.JSONField(default=list, blank=True)
    classification = models.JSONField(null=True, blank=True)
    llm_model = models.CharField(max_length=80, blank=True)
    prompt_version = models.CharField(max_length=20, blank=True)
    raw_response = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    llm_failures = models.PositiveSmallIntegerField(default=0)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)
    provisioned_organization = models.ForeignKey(
        "customers.Organization", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    provisioned_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="signup_status_created_idx")]

    def __str__(self) -> str:
        return f"{self.company_name} ({self.email})"


class SignupReason(models.TextChoices):
    """Why an application ended where it did; stored in ``SignupApplication.reason``."""

    INVALID_EMAIL = "invalid_email", "the email address is not valid"
    PERSONAL_EMAIL = "personal_email_domain", "the email address belongs to a personal provider"
    DUPLICATE_DOMAIN = "duplicate_domain", "an organization already uses this email domain"
    NOT_A_BUSINESS = "not_a_business", "it does not look like a business"
    RED_FLAGS = "red_flags", "the review found points to check"
    INVALID_OUTPUT = "invalid_classifier_output", "the automatic review gave no usable answer"
    LOW_CONFIDENCE = "low_confidence", "the automatic review was not confident enough"
    NOT_A_BUSINESS_UNSURE = "not_a_business_unsure", "it may not be a business"
    NOT_A_SAAS_VENDOR = "not_a_saas_vendor", "it does not look like a SaaS vendor"
    SAAS_BUSINESS = "saas_business", "a SaaS business"
    MODERATE_CONFIDENCE = "moderate_confidence", "likely a SaaS business"
    LLM_UNREACHABLE = "classifier_unreachable", "the automatic review was not available"
    LLM_NOT_CONFIGURED = "classifier_not_configured", "the automatic review is switched off"
    STAFF_DECISION = "staff_decision", "a Fastn reviewer decided"
