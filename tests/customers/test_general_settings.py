"""Settings → General: name and region, the verified email-domain change, deleting the org."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import signing
from django.test import Client

from audit.models import AuditLogEntry
from customers.domains import registrable_email_domain
from customers.models import (
    EmailDomainChange,
    Organization,
    OrganizationDeletion,
    OrganizationStatus,
)
from customers.services import email_domain as services
from roles import catalog
from tenancy.context import ORGANIZATION, context, platform_scope
from tests.conftest import ALL_DATABASES
from tests.customers.mailbox import read_mailbox
from tests.factories import make_org
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _org(world: World) -> Organization:
    with context(org_id=world.org.id, role=ORGANIZATION):
        return Organization.objects.get(id=world.org.id)


def _pending(world: World) -> tuple[str, str]:
    """The pending domain change (domain, address its link went to); blanks when none."""
    with context(org_id=world.org.id, role=ORGANIZATION):
        change = EmailDomainChange.objects.filter(org_id=world.org.id).first()
    return (change.domain, change.sent_to) if change else ("", "")


def _actions(world: World) -> list[str]:
    with context(org_id=world.org.id, role=ORGANIZATION):
        return list(AuditLogEntry.objects.values_list("action", flat=True))


@pytest.fixture
def mailbox(tmp_path: Path, settings) -> Path:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(tmp_path)},
        }
    }
    return tmp_path


# --- name and region ----------------------------------------------------------------------------


def test_admin_changes_name_and_default_region(shared_world: World) -> None:
    client = shared_world.client(catalog.ADMIN)
    response = client.post(
        shared_world.settings_url("general/"), {"name": "Acme Corp", "default_region": "eu"}
    )
    assert response.status_code == 302
    org = _org(shared_world)
    assert (org.name, org.default_region) == ("Acme Corp", "eu")
    assert "organization.update" in _actions(shared_world)


def test_operator_reads_general_settings_but_cannot_change_them(shared_world: World) -> None:
    client = shared_world.client(catalog.OPERATOR)
    page = client.get(shared_world.settings_url("general/"))
    assert page.status_code == 200
    assert page.context["can_manage"] is False and "form" not in page.context
    assert b"Delete organization" not in page.content
    response = client.post(
        shared_world.settings_url("general/"), {"name": "Hijacked", "default_region": "eu"}
    )
    assert response.status_code == 403
    assert _org(shared_world).name == "Acme"


def test_outsider_gets_404_on_general_settings(shared_world: World) -> None:
    client = shared_world.outsider_client()
    for path in ("settings/general/", "settings/general/domain/", "settings/general/delete/"):
        assert client.get(shared_world.url(path)).status_code == 404
        assert client.post(shared_world.url(path)).status_code == 404


def test_blank_name_is_an_inline_error(shared_world: World) -> None:
    response = shared_world.client(catalog.OWNER).post(
        shared_world.settings_url("general/"), {"name": "", "default_region": "us"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["name"]


# --- email domain -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("gmail.com", "Personal email providers"),
        ("mail.yahoo.com", "Personal email providers"),
        ("co.uk", "public suffix"),
        ("eu.acme-corp.com", "Use the registrable domain acme-corp.com"),
        ("not a domain", "Enter a domain"),
    ],
)
def test_domain_must_be_registrable_and_not_personal(value: str, error: str) -> None:
    with pytest.raises(Exception, match=error):
        registrable_email_domain(value)


def test_domain_normalises_case_and_idna() -> None:
    assert registrable_email_domain("  Example.CO.uk. ") == "example.co.uk"
    assert registrable_email_domain("bücher.de") == "xn--bcher-kva.de"


def test_domain_change_waits_for_the_emailed_link(
    shared_world: World, mailbox: Path, django_capture_on_commit_callbacks
) -> None:
    client = shared_world.client(catalog.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            shared_world.settings_url("general/domain/"),
            {"email_domain": "acme-corp.com", "verification_email": "it@acme-corp.com"},
        )
    assert response.status_code == 302
    org = _org(shared_world)
    assert org.email_domain != "acme-corp.com"
    assert _pending(shared_world) == ("acme-corp.com", "it@acme-corp.com")
    mail = read_mailbox(mailbox)
    assert "it@acme-corp.com" in mail
    link = re.search(r"http://testserver(/o/\S+/verify/\S+/)", mail).group(1)
    # Following the link signed out: GET only shows a button.
    anonymous = Client()
    assert anonymous.get(link).status_code == 200
    assert _org(shared_world).email_domain != "acme-corp.com"
    assert anonymous.post(link).status_code == 200
    org = _org(shared_world)
    assert (org.email_domain, org.email_domain_verified, _pending(shared_world)[0]) == (
        "acme-corp.com",
        True,
        "",
    )
    assert "organization.email_domain.verified" in _actions(shared_world)
    # The link is single-use: the pending change is gone.
    assert anonymous.post(link).status_code == 400


def test_domain_change_needs_an_address_at_that_domain(shared_world: World) -> None:
    response = shared_world.client(catalog.OWNER).post(
        shared_world.settings_url("general/domain/"),
        {"email_domain": "acme-corp.com", "verification_email": "me@elsewhere.com"},
    )
    assert response.status_code == 400
    assert response.context["domain_form"].errors["verification_email"]
    assert _pending(shared_world)[0] == ""


def test_domain_held_by_another_org_is_refused(shared_world: World) -> None:
    other = make_org("Taken", email_domain="taken-domain.com")
    assert other.email_domain == "taken-domain.com"
    response = shared_world.client(catalog.OWNER).post(
        shared_world.settings_url("general/domain/"),
        {"email_domain": "taken-domain.com", "verification_email": "a@taken-domain.com"},
    )
    assert response.status_code == 400
    assert (
        "Another organization already uses this domain."
        in response.context["domain_form"].errors["email_domain"]
    )


def test_personal_domain_is_a_form_error(shared_world: World) -> None:
    response = shared_world.client(catalog.OWNER).post(
        shared_world.settings_url("general/domain/"),
        {"email_domain": "gmail.com", "verification_email": "a@gmail.com"},
    )
    assert response.status_code == 400
    assert response.context["domain_form"].errors["email_domain"]


def test_operator_cannot_request_domain_change(shared_world: World) -> None:
    response = shared_world.client(catalog.OPERATOR).post(
        shared_world.settings_url("general/domain/"),
        {"email_domain": "acme-corp.com", "verification_email": "it@acme-corp.com"},
    )
    assert response.status_code == 403
    assert _pending(shared_world)[0] == ""


def test_tampered_or_expired_link_is_refused(shared_world: World) -> None:
    with context(org_id=shared_world.org.id, role=ORGANIZATION):
        org = Organization.objects.get(id=shared_world.org.id)
        EmailDomainChange.objects.create(org=org, domain="acme-corp.com")
    token = services.domain_token(organization=org, domain="acme-corp.com")
    client = Client()
    bad = client.post(shared_world.url(f"settings/general/domain/verify/{token}x/"))
    assert bad.status_code == 400
    expired = signing.dumps(
        {"org": str(org.id), "domain": "acme-corp.com"},
        salt=services.DOMAIN_TOKEN_SALT,
        compress=True,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "DOMAIN_TOKEN_MAX_AGE", -1)
        response = client.post(shared_world.url(f"settings/general/domain/verify/{expired}/"))
    assert response.status_code == 400
    assert b"expired" in response.content
    assert _org(shared_world).email_domain != "acme-corp.com"


def test_link_for_another_org_does_nothing_under_this_slug(shared_world: World) -> None:
    with context(org_id=shared_world.other_org.id, role=ORGANIZATION):
        other = Organization.objects.get(id=shared_world.other_org.id)
    token = services.domain_token(organization=other, domain="globex-corp.com")
    assert (
        Client().post(shared_world.url(f"settings/general/domain/verify/{token}/")).status_code
        == 404
    )


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_staff_approve_a_pending_domain_in_the_admin(world: World) -> None:
    from accounts.models import User

    with context(org_id=world.org.id, role=ORGANIZATION):
        EmailDomainChange.objects.create(org_id=world.org.id, domain="acme-corp.com")
    staff = User.objects.create_user(
        email="staff@fastn.test", password="x" * 12, is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(staff)
    response = client.post(
        "/admin/customers/organization/",
        {"action": "approve_pending_domain", "_selected_action": [str(world.org.id)]},
    )
    assert response.status_code == 302
    org = _org(world)
    assert (org.email_domain, _pending(world)[0]) == ("acme-corp.com", "")
    assert "organization.email_domain.verified" in _actions(world)


@pytest.mark.django_db(transaction=True, databases=ALL_DATABASES)
def test_staff_change_the_plan_in_the_admin(world: World) -> None:
    from accounts.models import User
    from customers.models import Plan

    staff = User.objects.create_user(
        email="staff@fastn.test", password="x" * 12, is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(staff)
    with platform_scope():
        growth = Plan.objects.get(code="growth")
    url = f"/admin/customers/organization/{world.org.id}/change/"
    assert client.get(url).status_code == 200
    assert client.get("/admin/customers/organization/?q=acme").status_code == 200
    assert client.get("/admin/customers/customer/?q=north").status_code == 200
    response = client.post(url, {"plan": str(growth.id), "status": "active"})
    assert response.status_code == 302
    assert _org(world).plan.code == "growth"
    with context(org_id=world.org.id, role=ORGANIZATION):
        entry = AuditLogEntry.objects.get(action="organization.staff_change")
    assert entry.after == {"plan": "growth"}


# --- delete the organization --------------------------------------------------------------------


def test_admin_cannot_delete_the_organization(shared_world: World) -> None:
    response = shared_world.client(catalog.ADMIN).post(
        shared_world.settings_url("general/delete/"), {"confirmation": "Acme"}
    )
    assert response.status_code == 403
    assert _org(shared_world).status == OrganizationStatus.ACTIVE


def test_deleting_needs_the_typed_name(shared_world: World) -> None:
    response = shared_world.client(catalog.OWNER).post(
        shared_world.settings_url("general/delete/"), {"confirmation": "acme"}
    )
    assert response.status_code == 400
    assert _org(shared_world).status == OrganizationStatus.ACTIVE


def test_owner_deletes_the_organization_and_it_disappears_at_once(shared_world: World) -> None:
    client = shared_world.client(catalog.OWNER)
    response = client.post(shared_world.settings_url("general/delete/"), {"confirmation": "Acme"})
    assert response.status_code == 302
    assert _org(shared_world).status == OrganizationStatus.DELETING
    assert client.get(shared_world.url("")).status_code == 404
    assert client.get(shared_world.customer_url()).status_code == 404
    assert "organization.delete.start" in _actions(shared_world)
    assert OrganizationDeletion.objects.filter(
        former_org_id=shared_world.org.id, finished_at=None
    ).exists()


def test_settings_nav_reaches_general(shared_world: World) -> None:
    page = shared_world.client(catalog.VIEWER).get(shared_world.settings_url("customers/"))
    assert shared_world.settings_url("general/").encode() in page.content
