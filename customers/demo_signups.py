"""The demo's partner signups (``customers.demo.seed``): one waiting in the staff review and one
from Acme's own domain that became a join request, recorded step by step as the pipeline records
them and decided by the pipeline's own rules."""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from customers.models import Organization
from signup.decision import ClassifierState, EmailVerdict, decide
from signup.models import SignupApplication
from signup.services.provisioning import record_duplicate
from signup.services.steps import (
    NO_DUPLICATE,
    STEP_CLASSIFICATION,
    STEP_DECISION,
    STEP_DUPLICATE,
    STEP_EMAIL,
    record_step,
)

REVIEW_APPLICANT = {
    "full_name": "Priya Raman",
    "email": "priya@northbeam-analytics.example",
    "company_name": "Northbeam Analytics",
    "company_website": "https://northbeam-analytics.example",
}
REVIEW_CLASSIFICATION = {
    "industry": "Marketing analytics",
    "tech_stack": ["Python", "Snowflake", "React"],
    "integration_needs": ["HubSpot", "Salesforce", "Google Ads"],
    "is_business": True,
    "is_saas_vendor": True,
    "red_flags": [
        "The website's domain was registered 9 days ago.",
        "The website shows a product page but no pricing, team or contact details.",
    ],
    "confidence": 0.78,
    "reasoning": (
        "Northbeam Analytics describes a SaaS dashboard that joins ad spend with CRM revenue, "
        "which fits a partner that needs HubSpot and Salesforce integrations. The domain is "
        "very new and the site is thin, so a person should confirm the company exists."
    ),
}
JOIN_APPLICANT = {
    "full_name": "Sam Lee",
    "email": "sam.lee@acme.test",
    "company_name": "Acme",
    "company_website": "https://acme.test",
}


def signup_applications(acme: Organization) -> None:
    """A partner signup waiting in the staff review, and one from Acme's own domain that became
    a join request on Acme's People page; both recorded step by step as the pipeline records
    them, and decided by the pipeline's own rules."""
    password_hash = make_password(None)  # unusable: the demo applicants never log in
    if not SignupApplication.objects.filter(email=REVIEW_APPLICANT["email"]).exists():
        application = SignupApplication(**REVIEW_APPLICANT, password_hash=password_hash)
        application.email_domain = "northbeam-analytics.example"
        record_step(application, STEP_EMAIL, EmailVerdict.PASSED, domain=application.email_domain)
        record_step(application, STEP_DUPLICATE, NO_DUPLICATE)
        application.classification = REVIEW_CLASSIFICATION
        application.llm_model = "gpt-4.1-mini"
        application.prompt_version = "signup-classify-v1"
        application.latency_ms = 1840
        record_step(
            application,
            STEP_CLASSIFICATION,
            ClassifierState.CLASSIFIED,
            latency_ms=application.latency_ms,
            model=application.llm_model,
        )
        _decide(application, duplicate=False, classifier=ClassifierState.CLASSIFIED)
        application.raw_response = json.dumps(REVIEW_CLASSIFICATION)
        application.save()
        _backdate(application, hours=3)
    if not SignupApplication.objects.filter(email=JOIN_APPLICANT["email"]).exists():
        application = SignupApplication(**JOIN_APPLICANT, password_hash=password_hash)
        application.email_domain = acme.email_domain or ""
        record_step(application, STEP_EMAIL, EmailVerdict.PASSED, domain=application.email_domain)
        application.save()
        record_duplicate(application, STEP_DUPLICATE, acme)
        record_step(application, STEP_CLASSIFICATION, ClassifierState.SKIPPED)
        _decide(application, duplicate=True, classifier=ClassifierState.SKIPPED)
        application.save()
        _backdate(application, hours=26)


def _backdate(application: SignupApplication, *, hours: int) -> None:
    """Place the application ``hours`` ago, its steps seconds apart as the pipeline ran them
    and its email confirmed a few minutes later."""
    start = timezone.now() - timedelta(hours=hours)
    steps = [
        {**step, "at": (start + timedelta(seconds=2 + 3 * index)).isoformat()}
        for index, step in enumerate(application.steps)
    ]
    SignupApplication.objects.filter(id=application.id).update(
        created_at=start,
        updated_at=start + timedelta(minutes=6),
        steps=steps,
        confirmation_sent_at=start + timedelta(seconds=1),
        email_confirmed_at=start + timedelta(minutes=6),
    )


def _decide(application: SignupApplication, *, duplicate: bool, classifier: str) -> None:
    decision = decide(
        email=EmailVerdict.PASSED,
        duplicate=duplicate,
        classifier=ClassifierState(classifier),
        classification=application.classification,
        approve_min=settings.SIGNUP_APPROVE_MIN,
        provisional_min=settings.SIGNUP_PROVISIONAL_MIN,
    )
    application.status = decision.status
    application.reason = decision.reason
    record_step(application, STEP_DECISION, decision.status, reason=decision.reason)
