"""The end-user widget: connect links and embed tokens (expiry, tampering, other customers),
signed-in customer-restricted members, suspended states, and nothing of another customer."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from audit.models import AuditLogEntry
from dataplane.encryption import decrypt_credentials
from dataplane.models import Configuration, Connection
from roles import catalog
from roles.selectors import authorize
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.dataplane.helpers import (
    client_for,
    in_customer,
    make_configuration,
    make_connection,
    make_connector,
    set_status,
)
from tests.factories import make_customer, make_org
from tests.widget.links import issue_token
from tests.world import World
from widget import tokens

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


@pytest.fixture
def acme(world: World):
    """Acme's two customers (A: Northwind, EU; B: Hooli, US) with connections and settings."""
    acme, customer_a, customer_b = world.org, world.customer, world.second_customer
    crm = make_connector(acme, name="Acme CRM")
    draft = make_connector(acme, name="Draft Connector", deploy_prod=False)
    conn_a = make_connection(acme, customer_a, crm, token="token-of-customer-a-1111")
    conn_b = make_connection(acme, customer_b, crm, token="token-of-customer-b-2222")
    with in_customer(acme, customer_b):
        Connection.objects.filter(id=conn_b.id).update(name="B private connection")
    config_a = make_configuration(acme, customer_a, "interval_a", "15", editable=True)
    hidden_a = make_configuration(acme, customer_a, "internal_a", "x", editable=False)
    config_b = make_configuration(acme, customer_b, "interval_b", "99", editable=True)
    return {
        "org": acme,
        "a": customer_a,
        "b": customer_b,
        "crm": crm,
        "draft": draft,
        "conn_a": conn_a,
        "conn_b": conn_b,
        "config_a": config_a,
        "hidden_a": hidden_a,
        "config_b": config_b,
        "end_user": world.user(catalog.END_USER),  # restricted to customer A
        "globex": world.other_org,
    }


def _token(org, customer, kind=tokens.CONNECT_LINK):
    return issue_token(org, customer, kind)


def _url(org, customer, suffix=""):
    return f"/widget/{org.slug}/{customer.id}/{suffix}"


def test_token_holder_sees_only_their_customers_widget(acme) -> None:
    org, a = acme["org"], acme["a"]
    response = Client().get(_url(org, a), {"token": _token(org, a)})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Northwind" in body and "Acme CRM" in body and "interval_a" in body
    assert "internal_a" not in body  # not end-user editable
    assert "Draft Connector" not in body  # not deployed to prod
    for foreign in ("Hooli", "B private connection", "interval_b", str(acme["conn_b"].id)):
        assert foreign not in body
    assert "frame-ancestors" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response


def test_token_for_customer_a_cannot_open_customer_b(acme) -> None:
    org, a, b = acme["org"], acme["a"], acme["b"]
    token = _token(org, a)
    assert Client().get(_url(org, b), {"token": token}).status_code == 404
    globex = acme["globex"]
    assert Client().get(f"/widget/{globex.slug}/{a.id}/", {"token": token}).status_code == 404


def test_customer_bs_ids_are_404_in_customer_as_widget(acme) -> None:
    org, a = acme["org"], acme["a"]
    token = _token(org, a)
    client = Client()
    conn_b, config_b = acme["conn_b"], acme["config_b"]
    assert (
        client.get(
            _url(org, a, f"connections/{conn_b.id}/reconnect/"), {"token": token}
        ).status_code
        == 404
    )
    for action in ("test", "disconnect"):
        response = client.post(_url(org, a, f"connections/{conn_b.id}/{action}/"), {"token": token})
        assert response.status_code == 404, action
    assert (
        client.post(
            _url(org, a, f"configuration/{config_b.id}/"), {"token": token, "value": "1"}
        ).status_code
        == 404
    )
    with in_customer(org, acme["b"]):
        assert Connection.objects.get(id=conn_b.id).credentials


def test_expired_token_is_refused(acme, settings) -> None:
    org, a = acme["org"], acme["a"]
    token = _token(org, a)
    settings.EMBED_TOKEN_MAX_AGE_SECONDS = 0
    time.sleep(1.1)
    response = Client().get(_url(org, a), {"token": token})
    assert response.status_code == 403
    assert b"token_expired" in response.content
    assert b"Northwind" not in response.content


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: t.replace(":", ";", 1),
        lambda t: "not-a-token",
    ],
)
def test_tampered_token_is_refused(acme, mangle) -> None:
    org, a = acme["org"], acme["a"]
    response = Client().get(_url(org, a), {"token": mangle(_token(org, a))})
    assert response.status_code == 403
    assert b"token_invalid" in response.content


def test_token_signed_with_another_key_is_refused(acme, settings) -> None:
    org, a = acme["org"], acme["a"]
    settings.EMBED_TOKEN_KEY = "another-key-" + "x" * 40
    forged = _token(org, a)
    settings.EMBED_TOKEN_KEY = "the-real-key-" + "y" * 40
    assert Client().get(_url(org, a), {"token": forged}).status_code == 403


def test_no_token_is_refused(acme) -> None:
    org, a = acme["org"], acme["a"]
    response = Client().get(_url(org, a))
    assert response.status_code == 403
    assert b"token_missing" in response.content


def test_token_holder_connects_a_prod_connector(acme) -> None:
    org, a, crm = acme["org"], acme["a"], acme["crm"]
    token = _token(org, a)
    response = Client().post(
        _url(org, a, f"connect/{crm.id}/"),
        {"token": token, "name": "Second CRM", "credential_access_token": "brand-new-secret-77"},
    )
    assert response.status_code == 302
    assert f"token={token}".split("=")[0] in response["Location"]
    with in_customer(org, a):
        connection = Connection.objects.get(name="Second CRM")
    assert decrypt_credentials(connection.credentials) == {"access_token": "brand-new-secret-77"}
    with context(org_id=org.id, role=ORGANIZATION):
        entry = AuditLogEntry.objects.get(action="connection.create", target_id=str(connection.id))
    assert entry.actor_label == "connect link"
    assert "brand-new-secret-77" not in str(entry.after)


def test_missing_credential_in_the_widget_is_a_form_error(acme) -> None:
    org, a, crm = acme["org"], acme["a"], acme["crm"]
    response = Client().post(
        _url(org, a, f"connect/{crm.id}/"), {"token": _token(org, a), "name": "X"}
    )
    assert response.status_code == 200
    assert b"This field is required" in response.content


def test_connector_not_deployed_to_prod_cannot_be_connected(acme) -> None:
    org, a, draft = acme["org"], acme["a"], acme["draft"]
    token = _token(org, a)
    assert Client().get(_url(org, a, f"connect/{draft.id}/"), {"token": token}).status_code == 404
    response = Client().post(
        _url(org, a, f"connect/{draft.id}/"),
        {"token": token, "name": "X", "credential_access_token": "secret-value-123"},
    )
    assert response.status_code == 404


def test_a_post_needs_the_token_in_its_body_not_only_the_cookie(acme) -> None:
    org, a, conn_a = acme["org"], acme["a"], acme["conn_a"]
    client = Client()
    assert client.get(_url(org, a), {"token": _token(org, a)}).status_code == 200
    assert client.get(_url(org, a)).status_code == 200  # the cookie serves reads
    response = client.post(_url(org, a, f"connections/{conn_a.id}/disconnect/"))
    assert response.status_code == 403
    with in_customer(org, a):
        assert Connection.objects.get(id=conn_a.id).credentials


def test_token_holder_disconnects_and_edits_end_user_configuration(acme) -> None:
    org, a = acme["org"], acme["a"]
    token = _token(org, a)
    client = Client()
    client.post(_url(org, a, f"connections/{acme['conn_a'].id}/disconnect/"), {"token": token})
    client.post(
        _url(org, a, f"configuration/{acme['config_a'].id}/"), {"token": token, "value": "60"}
    )
    refused = client.post(
        _url(org, a, f"configuration/{acme['hidden_a'].id}/"), {"token": token, "value": "hacked"}
    )
    assert refused.status_code == 404
    with in_customer(org, a):
        assert Connection.objects.get(id=acme["conn_a"].id).credentials == ""
        values = dict(Configuration.objects.values_list("key", "value"))
    assert values == {"interval_a": "60", "internal_a": "x"}


@pytest.mark.parametrize(
    ("target", "status", "code"),
    [
        ("customer", "suspended", b"customer_suspended"),
        ("customer", "pending_activation", b"customer_suspended"),
        ("org", "suspended", b"organization_suspended"),
    ],
)
def test_widget_is_refused_for_suspended_states(acme, target, status, code) -> None:
    org, a = acme["org"], acme["a"]
    token = _token(org, a)
    set_status(a if target == "customer" else org, status)
    response = Client().get(_url(org, a), {"token": token})
    assert response.status_code == 403
    assert code in response.content
    assert b"Acme CRM" not in response.content


def test_token_refresh_gives_a_fresh_token_within_the_lifetime(acme, monkeypatch) -> None:
    org, a = acme["org"], acme["a"]
    token = _token(org, a, tokens.EMBED)
    response = Client().post(_url(org, a, "token/refresh/"), {"token": token})
    assert response.status_code == 200
    fresh = response.json()["token"]
    assert tokens.verify(fresh).customer_id == a.id
    old = tokens.issue(
        grant_id=tokens.verify(token).grant_id,
        org_id=org.id,
        customer_id=a.id,
        kind=tokens.EMBED,
        root=int(time.time()) - tokens.MAX_LIFETIME_SECONDS - 10,
    )
    refused = Client().post(_url(org, a, "token/refresh/"), {"token": old})
    assert refused.status_code == 403


def test_embed_principal_holds_end_user_permissions_for_its_customer_only(acme) -> None:
    org, a, b = acme["org"], acme["a"], acme["b"]
    principal = tokens.verify(_token(org, a))
    with context(org_id=org.id, role=ORGANIZATION):
        authorize(principal, "connections.create", org, a)
        authorize(principal, "connectors.read", org)
        for key, customer in (
            ("connections.share", a),
            ("workflows.execute", a),
            ("connections.read", b),
            ("customers.read", None),
        ):
            with pytest.raises(PermissionDenied):
                authorize(principal, key, org, customer)
        with pytest.raises(PermissionDenied):
            authorize(principal, "connections.read", acme["globex"], a)


# Signed-in members --------------------------------------------------------------------------


def test_widget_entry_redirects_a_customer_restricted_member(acme) -> None:
    org, a = acme["org"], acme["a"]
    end_user = acme["end_user"]
    client = client_for(end_user)
    response = client.get("/widget/")
    assert response.status_code == 302
    assert response["Location"] == _url(org, a)
    page = client.get(_url(org, a))
    assert page.status_code == 200
    assert b"Acme CRM" in page.content
    assert b"B private connection" not in page.content
    assert client.get(_url(org, acme["b"])).status_code == 404


def test_signed_in_member_posts_need_csrf(acme) -> None:
    org, a, conn_a = acme["org"], acme["a"], acme["conn_a"]
    end_user = acme["end_user"]
    client = Client(enforce_csrf_checks=True)
    client.force_login(end_user)
    response = client.post(_url(org, a, f"connections/{conn_a.id}/disconnect/"))
    assert response.status_code == 403
    with in_customer(org, a):
        assert Connection.objects.get(id=conn_a.id).credentials


def test_organization_wide_members_and_outsiders_get_404(acme) -> None:
    org, a = acme["org"], acme["a"]
    assert client_for(org.owner).get(_url(org, a)).status_code == 404
    with_link = client_for(org.owner).get(_url(org, a), {"token": _token(org, a)})
    assert with_link.status_code == 200  # an operator trying the link they shared
    assert b"B private connection" not in with_link.content
    assert client_for(org.owner).get("/widget/").status_code == 404
    outsider = acme["globex"].owner
    assert client_for(outsider).get(_url(org, a)).status_code == 404


@pytest.mark.django_db(databases=ALL_DATABASES)
def test_signed_in_member_of_another_organization_can_open_a_connect_link() -> None:
    from widget.services import embed_token_issue

    org = make_org()
    customer = make_customer(org, region="eu")
    other = make_org()
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        token = embed_token_issue(organization=org, customer=customer, acting_user=org.owner)
    client = Client()
    client.force_login(other.owner)
    url = f"/widget/{org.slug}/{customer.id}/"
    assert client.get(url).status_code == 404
    assert client.get(url, {"token": token}).status_code == 200
