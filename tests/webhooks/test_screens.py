"""Settings → ADVANCED → Webhooks: who may use it, what each button does, and 404s."""

from __future__ import annotations

import pytest

from roles.catalog import ADMIN, DEVELOPER, END_USER, OPERATOR, OWNER, VIEWER
from tests.conftest import ALL_DATABASES
from tests.webhooks.conftest import in_org, make_endpoint
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

MANAGERS = [OWNER, ADMIN]
OTHERS = [DEVELOPER, OPERATOR, VIEWER]
FORM = {"url": "https://hooks.example.test/in", "event_types": ["customer.created"]}


def _url(world, path: str = "") -> str:
    return world.settings_url(f"webhooks/{path}")


def _endpoints(org) -> list[WebhookEndpoint]:
    with in_org(org):
        return list(WebhookEndpoint.objects.all())


def _delivery(org, endpoint, status=DeliveryStatus.FAILED) -> WebhookDelivery:
    with in_org(org):
        event = WebhookEvent.objects.create(org=org, event_type="customer.created")
        return WebhookDelivery.objects.create(
            org=org, endpoint=endpoint, event=event, status=status, attempt_count=1
        )


@pytest.mark.parametrize("key", MANAGERS)
def test_settings_managers_see_the_webhooks_page_and_its_nav_entry(shared_world, key) -> None:
    response = shared_world.client(key).get(_url(shared_world))
    assert response.status_code == 200
    assert b"No webhook endpoints yet" in response.content
    assert b'aria-current="page">Webhooks</a>' in response.content


@pytest.mark.parametrize("key", OTHERS)
def test_members_without_manage_settings_cannot_open_webhooks(shared_world, key) -> None:
    client = shared_world.client(key)
    assert client.get(_url(shared_world)).status_code == 403
    home = client.get(shared_world.url())
    assert b">Webhooks</a>" not in home.content


def test_customer_restricted_members_get_404(shared_world) -> None:
    assert shared_world.client(END_USER).get(_url(shared_world)).status_code == 404


def test_creating_an_endpoint_shows_the_secret_once(shared_world) -> None:
    client = shared_world.client(ADMIN)
    response = client.post(_url(shared_world, "new/"), {**FORM, "description": "Provisioning"})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret.startswith("whsec_") and secret.encode() in response.content
    [endpoint] = _endpoints(shared_world.org)
    assert endpoint.event_types == ["customer.created"]
    assert secret not in endpoint.secret_encrypted
    detail = client.get(_url(shared_world, f"{endpoint.id}/"))
    assert detail.status_code == 200 and secret.encode() not in detail.content


def test_members_without_manage_settings_cannot_create_endpoints(shared_world) -> None:
    response = shared_world.client(DEVELOPER).post(_url(shared_world, "new/"), FORM)
    assert response.status_code == 403
    assert _endpoints(shared_world.org) == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.test/in", b"Only https:// URLs can be called."),
        ("https://10.1.2.3/in", b"Private, loopback and link-local addresses cannot be called."),
        ("https://localhost/in", b"Private, loopback and link-local addresses cannot be called."),
        ("http://127.0.0.1:9/in", b"Only https:// URLs can be called."),
        ("https://user:pw@hooks.example.test/", b"Put credentials in a connection"),
    ],
)
def test_the_ssrf_guard_refuses_unsafe_urls(shared_world, settings, url, message) -> None:
    settings.OUTBOUND_ALLOW_HTTP_LOCALHOST = False
    response = shared_world.client(OWNER).post(_url(shared_world, "new/"), {**FORM, "url": url})
    assert response.status_code == 200
    assert message in response.content
    assert _endpoints(shared_world.org) == []


def test_an_endpoint_needs_an_event_type(shared_world) -> None:
    response = shared_world.client(OWNER).post(_url(shared_world, "new/"), {"url": FORM["url"]})
    assert b"This field is required." in response.content
    assert _endpoints(shared_world.org) == []


def test_editing_an_endpoint(shared_world) -> None:
    endpoint = make_endpoint(shared_world.org)
    response = shared_world.client(ADMIN).post(
        _url(shared_world, f"{endpoint.id}/edit/"),
        {"url": "https://hooks.example.test/v2", "event_types": ["limit.reached"]},
    )
    assert response.status_code == 302
    [saved] = _endpoints(shared_world.org)
    assert (saved.url, saved.event_types) == ("https://hooks.example.test/v2", ["limit.reached"])


def test_members_without_manage_settings_cannot_edit_endpoints(shared_world) -> None:
    endpoint = make_endpoint(shared_world.org)
    response = shared_world.client(DEVELOPER).post(
        _url(shared_world, f"{endpoint.id}/edit/"), {**FORM, "url": "https://evil.example.test/"}
    )
    assert response.status_code == 403
    assert _endpoints(shared_world.org)[0].url == endpoint.url


def test_deleting_an_endpoint_removes_its_log(shared_world) -> None:
    endpoint = make_endpoint(shared_world.org)
    _delivery(shared_world.org, endpoint)
    response = shared_world.client(OWNER).post(_url(shared_world, f"{endpoint.id}/delete/"))
    assert response.status_code == 302
    assert _endpoints(shared_world.org) == []
    with in_org(shared_world.org):
        assert not WebhookDelivery.objects.exists()


def test_members_without_manage_settings_cannot_delete_endpoints(shared_world) -> None:
    endpoint = make_endpoint(shared_world.org)
    response = shared_world.client(VIEWER).post(_url(shared_world, f"{endpoint.id}/delete/"))
    assert response.status_code == 403
    assert len(_endpoints(shared_world.org)) == 1


def test_send_test_event_queues_one_delivery_tried_once(shared_world) -> None:
    endpoint = make_endpoint(shared_world.org)
    response = shared_world.client(ADMIN).post(_url(shared_world, f"{endpoint.id}/test/"))
    assert response.status_code == 302
    with in_org(shared_world.org):
        [delivery] = WebhookDelivery.objects.select_related("event")
    assert delivery.event.event_type == "webhook.test" and delivery.retries is False


def test_members_without_manage_settings_cannot_send_test_events(shared_world) -> None:
    endpoint = make_endpoint(shared_world.org)
    response = shared_world.client(OPERATOR).post(_url(shared_world, f"{endpoint.id}/test/"))
    assert response.status_code == 403
    with in_org(shared_world.org):
        assert not WebhookDelivery.objects.exists()


def test_redeliver_sends_the_same_event_again(shared_world) -> None:
    endpoint = make_endpoint(shared_world.org)
    failed = _delivery(shared_world.org, endpoint)
    response = shared_world.client(OWNER).post(
        _url(shared_world, f"deliveries/{failed.id}/redeliver/")
    )
    assert response.status_code == 302
    with in_org(shared_world.org):
        again = WebhookDelivery.objects.exclude(id=failed.id).get()
    assert again.event_id == failed.event_id and again.status == DeliveryStatus.PENDING


def test_a_pending_delivery_is_not_redelivered(shared_world) -> None:
    endpoint = make_endpoint(shared_world.org)
    pending = _delivery(shared_world.org, endpoint, status=DeliveryStatus.PENDING)
    response = shared_world.client(OWNER).post(
        _url(shared_world, f"deliveries/{pending.id}/redeliver/"), follow=True
    )
    assert b"still being tried" in response.content
    with in_org(shared_world.org):
        assert WebhookDelivery.objects.count() == 1


def test_members_without_manage_settings_cannot_redeliver(shared_world) -> None:
    endpoint = make_endpoint(shared_world.org)
    failed = _delivery(shared_world.org, endpoint)
    response = shared_world.client(DEVELOPER).post(
        _url(shared_world, f"deliveries/{failed.id}/redeliver/")
    )
    assert response.status_code == 403
    with in_org(shared_world.org):
        assert WebhookDelivery.objects.count() == 1


def test_enabling_a_disabled_endpoint(shared_world) -> None:
    endpoint = make_endpoint(shared_world.org)
    with in_org(shared_world.org):
        WebhookEndpoint.objects.filter(id=endpoint.id).update(status="disabled")
    client = shared_world.client(OWNER)
    test = client.post(_url(shared_world, f"{endpoint.id}/test/"), follow=True)
    assert b"This endpoint is disabled: enable it first." in test.content
    assert client.post(_url(shared_world, f"{endpoint.id}/enable/")).status_code == 302
    assert _endpoints(shared_world.org)[0].is_active


def test_members_without_manage_settings_cannot_enable_endpoints(shared_world) -> None:
    endpoint = make_endpoint(shared_world.org)
    with in_org(shared_world.org):
        WebhookEndpoint.objects.filter(id=endpoint.id).update(status="disabled")
    response = shared_world.client(DEVELOPER).post(_url(shared_world, f"{endpoint.id}/enable/"))
    assert response.status_code == 403
    assert not _endpoints(shared_world.org)[0].is_active


def test_the_delivery_log_shows_status_time_and_response(shared_world) -> None:
    endpoint = make_endpoint(shared_world.org)
    delivery = _delivery(shared_world.org, endpoint)
    with in_org(shared_world.org):
        WebhookDelivery.objects.filter(id=delivery.id).update(
            last_status_code=500, last_error="The endpoint answered HTTP 500."
        )
    client = shared_world.client(OWNER)
    page = client.get(_url(shared_world, f"{endpoint.id}/"))
    assert (
        b"HTTP 500" in page.content and b"Failed" in page.content and b"Redeliver" in page.content
    )
    detail = client.get(_url(shared_world, f"deliveries/{delivery.id}/"))
    assert detail.status_code == 200 and b"customer.created" in detail.content


def _object_urls(world, endpoint, delivery) -> list[str]:
    return [
        _url(world, f"{endpoint.id}/"),
        _url(world, f"{endpoint.id}/edit/"),
        _url(world, f"{endpoint.id}/delete/"),
        _url(world, f"{endpoint.id}/enable/"),
        _url(world, f"{endpoint.id}/test/"),
        _url(world, f"deliveries/{delivery.id}/"),
        _url(world, f"deliveries/{delivery.id}/redeliver/"),
    ]


def test_outsiders_get_404_for_every_endpoint_and_delivery_url(shared_world) -> None:
    endpoint = make_endpoint(shared_world.org)
    delivery = _delivery(shared_world.org, endpoint)
    outsider = shared_world.outsider_client()
    for url in _object_urls(shared_world, endpoint, delivery):
        assert outsider.get(url).status_code == 404, url
        assert outsider.post(url).status_code == 404, url


def test_another_organizations_endpoints_are_404_under_ones_own_organization(
    shared_world,
) -> None:
    """Globex's endpoint and delivery, asked for by Acme's Owner under Acme's URL."""
    theirs = make_endpoint(shared_world.other_org)
    their_delivery = _delivery(shared_world.other_org, theirs)
    owner = shared_world.client(OWNER)
    for url in _object_urls(shared_world, theirs, their_delivery):
        # POST-only buttons answer GET with 405 whatever the id: that says nothing about it.
        assert owner.get(url).status_code in (404, 405), url
        assert owner.post(url).status_code == 404, url
    with in_org(shared_world.other_org):
        assert WebhookEndpoint.objects.get().is_active
