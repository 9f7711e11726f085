"""Customer labels (``key:value``) and metadata (a JSON object ≤ 16 KB), SPEC §13: their rules,
the edit and create forms, and the label filter of Settings → Customers."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditLogEntry
from customers.labels import labels_check, labels_parse, labels_text, metadata_parse
from customers.models import Customer, Organization, Plan
from roles import catalog
from tenancy.context import ORGANIZATION, context
from tests.conftest import ALL_DATABASES
from tests.factories import make_customer
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)


def _messages(text: str) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        labels_parse(text)
    return caught.value.messages


# --- the rules -------------------------------------------------------------------------------


def test_labels_are_read_from_commas_semicolons_and_lines() -> None:
    assert labels_parse(" env:prod ; tier:gold,\nbilling/plan:v2.1 ") == {
        "env": "prod",
        "tier": "gold",
        "billing/plan": "v2.1",
    }
    assert labels_parse("") == {}
    assert labels_text({"tier": "gold", "env": "prod"}) == "env:prod, tier:gold"


def test_a_label_key_with_a_space_gets_a_clear_message() -> None:
    [message] = _messages("my env:prod")
    assert "“my env” contains a space" in message
    assert "for example my-env" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("env", "is not a label: write it as key:value"),
        (":prod", "The label key is empty"),
        ("env:", "The label value is empty"),
        ("env:pro d", "“pro d” contains a space"),
        ("-env:prod", "may hold only letters, digits"),
        ("env:a/b", "may hold only letters, digits"),
        ("k" * 64 + ":v", "longer than 63 characters"),
        ("env:prod, env:test", "“env” is given twice"),
    ],
)
def test_malformed_labels_say_what_is_wrong(text: str, expected: str) -> None:
    assert any(expected in message for message in _messages(text))


def test_every_label_error_is_reported_at_once() -> None:
    assert len(_messages("a b:c, d:e f, ok:yes")) == 2


def test_more_than_twenty_labels_are_refused() -> None:
    with pytest.raises(ValidationError, match="at most 20 labels"):
        labels_check({f"k{i}": "v" for i in range(21)})


def test_metadata_is_a_json_object_of_at_most_16_kb() -> None:
    assert metadata_parse('{"crm": {"id": 7}}') == {"crm": {"id": 7}}
    assert metadata_parse("  ") == {}
    assert metadata_parse(json.dumps({"x": "a" * (16 * 1024 - 10)})) is not None
    with pytest.raises(ValidationError, match="at most 16,384 bytes"):
        metadata_parse(json.dumps({"x": "a" * (16 * 1024)}))
    with pytest.raises(ValidationError, match="must be a JSON object"):
        metadata_parse("[1, 2]")
    with pytest.raises(ValidationError, match=r"not valid JSON \(line 1, column 2"):
        metadata_parse("{oops}")
    with pytest.raises(ValidationError, match="no NaN"):
        metadata_parse('{"x": NaN}')
    with pytest.raises(ValidationError, match="NUL"):
        metadata_parse('{"x": "a\\u0000b"}')


# --- the forms -------------------------------------------------------------------------------


def _reload(world: World, customer: Customer) -> Customer:
    with context(org_id=world.org.id, role=ORGANIZATION):
        return Customer.objects.get(id=customer.id)


def test_operator_edits_labels_and_metadata_and_the_change_is_audited(
    shared_world: World,
) -> None:
    world = shared_world
    response = world.client(catalog.OPERATOR).post(
        world.customer_url(suffix="edit/"),
        {
            "name": world.customer.name,
            "external_id": world.customer.external_id,
            "labels": "env:prod, tier:gold",
            "metadata": '{"crm_id": "0012"}',
        },
    )
    assert response.status_code == 302
    customer = _reload(world, world.customer)
    assert customer.labels == {"env": "prod", "tier": "gold"}
    assert customer.metadata == {"crm_id": "0012"}
    with context(org_id=world.org.id, role=ORGANIZATION):
        entry = AuditLogEntry.objects.filter(
            action="customer.update", target_id=str(customer.id)
        ).latest("created_at")
    assert entry.after == {"labels": customer.labels, "metadata": customer.metadata}
    page = world.client(catalog.VIEWER).get(world.customer_url())
    assert "env:prod" in page.content.decode()
    assert "crm_id" in page.content.decode()
    edit = world.client(catalog.OPERATOR).get(world.customer_url(suffix="edit/"))
    assert edit.context["form"].initial["labels"] == "env:prod, tier:gold"


def test_viewer_cannot_edit_labels(shared_world: World) -> None:
    world = shared_world
    response = world.client(catalog.VIEWER).post(
        world.customer_url(suffix="edit/"), {"name": "X", "labels": "env:prod"}
    )
    assert response.status_code == 403
    assert _reload(world, world.customer).labels == {}


def test_a_bad_label_or_metadata_is_shown_on_the_form_and_nothing_is_lost(
    shared_world: World,
) -> None:
    world = shared_world
    typed = {
        "name": "Renamed",
        "external_id": "nw-1",
        "labels": "my env:prod",
        "metadata": '{"a": ',
    }
    response = world.client(catalog.OWNER).post(world.customer_url(suffix="edit/"), typed)
    assert response.status_code == 400
    form = response.context["form"]
    assert "contains a space" in form.errors["labels"][0]
    assert "not valid JSON" in form.errors["metadata"][0]
    body = response.content.decode()
    assert "my env:prod" in body and "Renamed" in body
    assert _reload(world, world.customer).name == world.customer.name


def test_create_form_takes_labels(shared_world: World) -> None:
    world = shared_world
    response = world.client(catalog.OPERATOR).post(
        world.settings_url("customers/new/"),
        {"name": "Labelled", "region": "us", "activate": "on", "labels": "env:trial"},
    )
    assert response.status_code == 302
    with context(org_id=world.org.id, role=ORGANIZATION):
        assert Customer.objects.get(name="Labelled").labels == {"env": "trial"}


# --- the list --------------------------------------------------------------------------------


def _label(world: World, customer: Customer, labels: dict[str, str]) -> None:
    with context(org_id=world.org.id, role=ORGANIZATION):
        Customer.objects.filter(id=customer.id).update(labels=labels)


def test_list_filters_by_label_with_search_and_pagination(shared_world: World) -> None:
    world = shared_world
    with context(org_id=world.org.id, role=ORGANIZATION):  # rolled back with the test
        Organization.objects.filter(id=world.org.id).update(plan=Plan.objects.get(code="starter"))
    world.org.plan = Plan.objects.get(code="starter")
    for n in range(27):
        customer = make_customer(world.org, f"Prod {n:02}")
        _label(world, customer, {"env": "prod", "tier": "gold" if n % 2 else "silver"})
    _label(world, world.customer, {"env": "test"})
    client = world.client(catalog.VIEWER)
    url = world.settings_url("customers/")

    first = client.get(url, {"label": "env:prod"})
    assert first.context["page"].paginator.count == 27
    body = first.content.decode()
    assert "env:prod" in body and "label=env%3Aprod&amp;page=2" in body
    second = client.get(url, {"label": "env:prod", "page": 2})
    assert len(second.context["rows"]) == 2
    both = client.get(url, {"label": "env:prod, tier:gold"})
    assert both.context["page"].paginator.count == 13
    searched = client.get(url, {"label": "env:prod", "q": "Prod 0"})
    assert searched.context["page"].paginator.count == 10
    test = client.get(url, {"label": "env:test"})
    assert [c for c, _ in test.context["rows"]] == [world.customer]
    none = client.get(url, {"label": "env:nowhere"})
    assert none.context["rows"] == []
    assert "No customer matches these filters" in none.content.decode()


def test_a_malformed_label_filter_says_why_and_filters_nothing(shared_world: World) -> None:
    world = shared_world
    response = world.client(catalog.VIEWER).get(
        world.settings_url("customers/"), {"label": "my env:prod"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "contains a space" in body and "not filtered by label" in body
    assert {c for c, _ in response.context["rows"]} == {world.customer, world.second_customer}
