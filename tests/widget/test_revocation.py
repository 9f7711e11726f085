"""SPEC §11: embed tokens and connect links can be revoked, and a refresh never outlives a
revocation. Every issued token names a recorded grant; the widget refuses a token whose grant is
revoked, past its end or unknown — whatever the signature says."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from dataplane.models import Connection
from tenancy.context import CUSTOMER, ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import in_customer, make_connection, make_connector
from tests.isolation import probes
from tests.widget.links import issue_token
from tests.world import World
from widget import tokens
from widget.models import EmbedGrant
from widget.services import embed_grant_revoke

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def acme(world: World):
    """Acme's customer Northwind connected to Acme CRM, and its sibling customer."""
    org, customer, sibling = world.org, world.customer, world.second_customer
    crm = make_connector(org, name="Acme CRM")
    connection = make_connection(org, customer, crm, token="initech-secret-token-1111")
    return org, customer, sibling, connection


def _url(org, customer, suffix=""):
    return f"/widget/{org.slug}/{customer.id}/{suffix}"


def _grant(org, token: str) -> EmbedGrant:
    with context(org_id=org.id, role=ORGANIZATION):
        return EmbedGrant.objects.get(id=tokens.verify(token).grant_id)


def _revoke(org, token: str) -> None:
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        embed_grant_revoke(acting_user=org.owner, grant=_grant(org, token))


def _refused(response, code: str) -> bool:
    return response.status_code == 403 and f"<code>{code}</code>".encode() in response.content


def test_every_issued_token_is_recorded_with_customer_kind_expiry_and_issuer(acme) -> None:
    org, customer, _, _ = acme
    before = timezone.now()
    token = issue_token(org, customer, tokens.EMBED)
    grant = _grant(org, token)
    assert (grant.customer_id, grant.kind, grant.issued_by_id) == (
        customer.id,
        tokens.EMBED,
        org.owner_id,
    )
    assert grant.revoked_at is None
    lifetime = timedelta(seconds=tokens.MAX_LIFETIME_SECONDS)
    assert before + lifetime <= grant.expires_at <= timezone.now() + lifetime


def test_a_revoked_connect_link_no_longer_opens_the_widget(acme) -> None:
    org, customer, _, connection = acme
    token = issue_token(org, customer)
    assert Client().get(_url(org, customer), {"token": token}).status_code == 200
    _revoke(org, token)
    page = Client().get(_url(org, customer), {"token": token})
    assert _refused(page, "token_revoked")
    assert b"Acme CRM" not in page.content
    disconnect = Client().post(
        _url(org, customer, f"connections/{connection.id}/disconnect/"), {"token": token}
    )
    assert _refused(disconnect, "token_revoked")
    with in_customer(org, customer):
        assert Connection.objects.get(id=connection.id).credentials


def test_the_widget_cookie_of_a_revoked_token_is_refused_too(acme) -> None:
    org, customer, _, _ = acme
    token = issue_token(org, customer)
    browser = Client()
    assert browser.get(_url(org, customer), {"token": token}).status_code == 200
    assert browser.get(_url(org, customer)).status_code == 200  # the cookie carries it
    _revoke(org, token)
    assert _refused(browser.get(_url(org, customer)), "token_revoked")


def test_a_refresh_never_outlives_a_revocation(acme) -> None:
    org, customer, _, _ = acme
    token = issue_token(org, customer, tokens.EMBED)
    refresh = _url(org, customer, "token/refresh/")
    fresh = Client().post(refresh, {"token": token}).json()["token"]
    renewed = Client().post(refresh, {"token": fresh}).json()["token"]
    assert tokens.verify(fresh).grant_id == tokens.verify(renewed).grant_id == _grant(org, token).id
    assert Client().get(_url(org, customer), {"token": renewed}).status_code == 200
    _revoke(org, fresh)  # revoking through any of them ends them all
    for any_of_them in (token, fresh, renewed):
        assert _refused(Client().post(refresh, {"token": any_of_them}), "token_revoked")
        assert _refused(Client().get(_url(org, customer), {"token": any_of_them}), "token_revoked")


def test_a_validly_signed_token_without_a_recorded_grant_is_refused(acme) -> None:
    org, customer, sibling, _ = acme
    unknown = tokens.issue(
        grant_id=uuid.uuid4(), org_id=org.id, customer_id=customer.id, kind=tokens.CONNECT_LINK
    )
    assert _refused(Client().get(_url(org, customer), {"token": unknown}), "token_invalid")
    # Another customer's grant in a token for this customer (a signature a leaked key forged).
    elsewhere = tokens.verify(issue_token(org, sibling)).grant_id
    borrowed = tokens.issue(
        grant_id=elsewhere, org_id=org.id, customer_id=customer.id, kind=tokens.CONNECT_LINK
    )
    assert _refused(Client().get(_url(org, customer), {"token": borrowed}), "token_invalid")


def test_a_token_issued_before_grants_existed_is_refused(acme, settings) -> None:
    org, customer, _, _ = acme
    legacy = signing.dumps(
        {"o": str(org.id), "c": str(customer.id), "k": tokens.CONNECT_LINK, "r": int(time.time())},
        key=settings.EMBED_TOKEN_KEY,
        salt=tokens.SALT,
        compress=True,
    )
    assert _refused(Client().get(_url(org, customer), {"token": legacy}), "token_invalid")


def test_a_token_past_its_grants_end_is_refused(acme) -> None:
    org, customer, _, _ = acme
    token = issue_token(org, customer)
    with context(org_id=org.id, role=ORGANIZATION):
        EmbedGrant.objects.filter(id=_grant(org, token).id).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    assert _refused(Client().get(_url(org, customer), {"token": token}), "token_expired")


def test_revoking_is_recorded_once_and_is_idempotent(acme) -> None:
    from audit import actions
    from audit.models import AuditLogEntry

    org, customer, _, _ = acme
    token = issue_token(org, customer)
    _revoke(org, token)
    first = _grant(org, token).revoked_at
    _revoke(org, token)
    assert _grant(org, token).revoked_at == first is not None
    with context(org_id=org.id, role=ORGANIZATION):
        [entry] = AuditLogEntry.objects.filter(action=actions.EMBED_TOKEN_REVOKE)
    assert (entry.subject_customer_id, entry.target_id) == (customer.id, str(_grant(org, token).id))


def test_the_token_holders_own_context_cannot_undo_a_revocation(acme) -> None:
    """The widget runs in the customer's context: it reads its grants but never changes one."""
    org, customer, _, _ = acme
    token = issue_token(org, customer)
    _revoke(org, token)
    grant_id = _grant(org, token).id
    with context(org_id=org.id, customer_id=customer.id, role=CUSTOMER):
        assert EmbedGrant.objects.filter(id=grant_id).exists()
        assert EmbedGrant.objects.filter(id=grant_id).update(revoked_at=None) == 0
        undo = "UPDATE widget_embedgrant SET revoked_at = NULL WHERE id = %s"
        assert probes.run("default", undo, [str(grant_id)]) == probes.Outcome(None, 0)
        erase = "DELETE FROM widget_embedgrant WHERE id = %s"
        assert probes.run("default", erase, [str(grant_id)]) == probes.Outcome(None, 0)
    assert _grant(org, token).revoked_at is not None


def test_deleting_a_customer_removes_its_grants(acme) -> None:
    from customers.models import Customer
    from customers.services import customer_purge

    org, customer, sibling, _ = acme
    doomed = tokens.verify(issue_token(org, customer)).grant_id
    kept = tokens.verify(issue_token(org, sibling)).grant_id
    with context(org_id=org.id, customer_id=customer.id, role=ORGANIZATION):
        Customer.objects.filter(id=customer.id).update(status="deleting")
        customer_purge(customer_id=customer.id)
    with context(org_id=org.id, role=ORGANIZATION):
        remaining = set(EmbedGrant.objects.values_list("id", flat=True))
    assert doomed not in remaining and kept in remaining
