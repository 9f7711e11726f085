"""Every console URL that takes an id answers 404 — for GET and POST alike — when the id belongs
to another organization, to another customer of the organization, is unknown or is malformed.

The URLs are read from the URL map itself, so a page added later is attacked too. Each request
runs in transactions that are rolled back, so even a page that wrongly accepted a write would
leave the shared isolation world unchanged.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.isolation import probes
from tests.isolation.spec import SCOPED_TABLES, Placement
from tests.isolation.world import IsolationWorld, all_rolled_back

ORG_PREFIX = "o/<slug:org_slug>/"
PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
REGION = settings.TENANCY_REGIONS[0]

# URL keyword -> the table its id comes from (``item_id`` depends on the build ``kind``).
ID_TABLES = {
    "customer_id": "customers_customer",
    "connection_id": "dataplane_connection",
    "workflow_id": "dataplane_workflow",
    "config_id": "dataplane_configuration",
    "execution_id": "dataplane_executionlog",
    "event_id": "dataplane_event",
    "connector_id": "build_connector",
    "key_id": "api_apikey",
    "role_id": "roles_role",
    "invitation_id": "roles_invitation",
    "membership_id": "roles_membership",
    "join_request_id": "roles_joinrequest",
    "grant_id": "widget_embedgrant",
    "endpoint_id": "webhooks_webhookendpoint",
    "delivery_id": "webhooks_webhookdelivery",
    "import_id": "customers_customerimport",
}
BUILD_KINDS = {
    "connectors": "build_connector",
    "agents": "build_agent",
    "tools": "build_tool",
    "workflows": "build_workflowdefinition",
}
FIXED = {"number": 1, "tab": "connections"}
# A form that passes the usual validation, so a page cannot answer before it looks the id up.
PLAUSIBLE_POST = {"environment": "test", "number": "1", "name": "Probe", "confirm": "yes"}


@dataclass(frozen=True)
class Route:
    name: str
    template: str
    parameters: tuple[str, ...]
    defaults: tuple[tuple[str, Any], ...]

    def table(self, parameter: str) -> str:
        if parameter == "item_id":
            return BUILD_KINDS[dict(self.defaults)["kind"]]
        return ID_TABLES[parameter]


def _walk(patterns: list[Any], prefix: str, namespace: str) -> list[Route]:
    found: list[Route] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = ":".join(filter(None, [namespace, pattern.namespace]))
            found += _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            template = prefix + str(pattern.pattern)
            found.append(
                Route(
                    ":".join(filter(None, [namespace, pattern.name])),
                    template,
                    tuple(m["name"] for m in PARAMETER.finditer(template)),
                    tuple(sorted((pattern.default_args or {}).items())),
                )
            )
    return found


def console_routes() -> list[Route]:
    routes = _walk(get_resolver().url_patterns, "", "")
    return [
        route
        for route in routes
        if route.template.startswith(ORG_PREFIX) and "<uuid:" in route.template
    ]


ROUTES = console_routes()


def _row_id(isolation_world: IsolationWorld, table: str, key: str) -> str:
    placement = Placement(SCOPED_TABLES[table], REGION if table.startswith("dataplane_") else None)
    if placement.table.customer_column is None and key == "B":
        key = "A"  # B shares A's organization-level rows
    for row in probes.rows_as_owner(isolation_world, placement):
        if probes.owner_of(isolation_world, placement, row) == key:
            return str(row["id"])
    raise LookupError(f"no {table} row of {key}")


def _kwargs(isolation_world: IsolationWorld, route: Route, key: str = "A") -> dict[str, Any]:
    kwargs: dict[str, Any] = {"org_slug": isolation_world.orgs["acme"].slug}
    for parameter in route.parameters:
        if parameter in FIXED:
            kwargs[parameter] = FIXED[parameter]
        elif parameter != "org_slug":
            kwargs[parameter] = _row_id(isolation_world, route.table(parameter), key)
    return kwargs


def _attacks(isolation_world: IsolationWorld, route: Route) -> list[tuple[str, dict[str, Any]]]:
    """The route's own valid kwargs with one id swapped for another organization's or, for
    rows of a customer, another customer's."""
    own = _kwargs(isolation_world, route)
    attacks = []
    for parameter in route.parameters:
        if parameter in FIXED or parameter == "org_slug":
            continue
        table = route.table(parameter)
        victims = ["G"]
        if SCOPED_TABLES[table].customer_column == "customer_id" and "customer_id" in own:
            victims.append("B")
        for victim in victims:
            swapped = {**own, parameter: _row_id(isolation_world, table, victim)}
            attacks.append((f"{parameter} of {victim}", swapped))
        attacks.append((f"unknown {parameter}", {**own, parameter: str(uuid.uuid4())}))
    return attacks


def _client(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def test_the_url_map_has_console_pages_with_ids() -> None:
    names = {route.name.rsplit(":", 1)[-1] for route in ROUTES}
    assert {"customer_detail", "connection_detail", "role_detail", "key_revoke"} <= names


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_ids_of_other_organizations_and_customers_are_404(
    isolation_world: IsolationWorld, route: Route
) -> None:
    """POST must be 404; GET may also be 405 where the page refuses GET whatever the id (that
    answer says nothing about the id)."""
    client = _client(isolation_world.orgs["acme"].owner)
    with all_rolled_back():
        own_get = client.get(
            reverse(route.name, kwargs=_kwargs(isolation_world, route))
        ).status_code
    get_allowed = {404, 405} if own_get == 405 else {404}
    for attack, kwargs in _attacks(isolation_world, route):
        url = reverse(route.name, kwargs=kwargs)
        with all_rolled_back():
            status = client.get(url).status_code
        assert status in get_allowed, f"GET {url} ({attack}) -> {status}"
        with all_rolled_back():
            status = client.post(url, PLAUSIBLE_POST).status_code
        assert status == 404, f"POST {url} ({attack}) -> {status}"


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_malformed_ids_are_404(isolation_world: IsolationWorld, route: Route) -> None:
    client = _client(isolation_world.orgs["acme"].owner)
    url = reverse(route.name, kwargs=_kwargs(isolation_world, route))
    own_ids = [str(v) for k, v in _kwargs(isolation_world, route).items() if k.endswith("_id")]
    for own_id in own_ids:
        for malformed in (own_id.upper(), own_id[:-1], own_id + "0", "not-a-uuid", "0"):
            for method in (client.get, client.post):
                with all_rolled_back():
                    status = method(url.replace(own_id, malformed)).status_code
                assert status == 404, f"{url.replace(own_id, malformed)} -> {status}"


CUSTOMER_ROUTES = [r for r in ROUTES if "customer_id" in r.parameters]


@pytest.mark.parametrize("route", CUSTOMER_ROUTES, ids=lambda r: r.name)
def test_customer_restricted_member_gets_404_for_another_customers_pages(
    isolation_world: IsolationWorld, route: Route
) -> None:
    client = _client(isolation_world.end_user.user)
    url = reverse(route.name, kwargs=_kwargs(isolation_world, route, key="B"))
    with all_rolled_back():
        assert client.get(url).status_code == 404


def test_requests_leave_no_context_on_the_connection(isolation_world: IsolationWorld) -> None:
    client = _client(isolation_world.orgs["acme"].owner)
    route = next(r for r in ROUTES if r.name.endswith("customer_detail"))
    assert (
        client.get(reverse(route.name, kwargs=_kwargs(isolation_world, route))).status_code == 200
    )
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT coalesce(current_setting('app.org_id', true), '')")
        assert cursor.fetchone()[0] == ""
