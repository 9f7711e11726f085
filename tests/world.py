"""The suite's one world: an organization with one member per system role, and an outsider.

Vocabulary (every folder speaks it; build extra data on top of it, through ``tests.factories``):

- ``world.org`` — Acme, on the Free plan unless built with another ``plan_code``.
- ``world.customer`` — Acme's customer Northwind (EU, external id ``nw-1``);
  ``world.second_customer`` — Hooli (US), another customer of the same organization. Neither
  has data-plane rows: a test makes the connections, workflows and executions it looks at.
- ``world.members[key]`` — one membership per system role key of ``roles.catalog`` (owner,
  admin, developer, operator, viewer, end_user); the End User is restricted to
  ``world.customer``. ``world.user(key)`` is its user, ``world.client(key)`` a test client
  signed in as it, ``world.role(key)`` Acme's system role.
- ``world.other_org`` — Globex, with its customer ``world.other_customer`` (Paris Patisserie,
  EU, also external id ``nw-1``). Its owner is ``world.outsider``: signed in, no membership in
  Acme; ``world.outsider_client()`` is their client.
- ``world.url(path)`` is ``/o/<acme>/<path>``, ``world.settings_url(path)`` the settings pages,
  ``world.customer_url(customer, suffix)`` a customer page.

Fixtures (registered for the whole suite by ``tests/conftest.py``):

- ``world`` — built fresh for each test, in the test's own database state: use it in tests
  that commit (``transaction=True``, Celery workers, the live server) and wherever a test needs
  the world's own rows to start untouched by anything but itself.
- ``shared_world`` — the same world built once per test session and committed; each test gets
  a deep copy of the Python objects. Use it in non-transactional ``django_db`` tests that read
  the world (GET pages, permission denials, selectors): whatever such a test writes is rolled
  back with its transaction, so it may still make rows of its own. It is refused in
  ``transaction=True`` tests, whose flush would empty it for everyone after them; pytest-django
  runs those after the non-transactional tests, so the world lives as long as it is needed.
  Its slugs and addresses (``shared-acme``, ``@shared-acme.test``) never collide with the names
  other tests give (``make_org("Acme")`` still gets the slug ``acme``), so tests that use it
  read names from the world (``world.user(OWNER).email``), never spell them out.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from customers.models import Customer, Organization, OrganizationStatus
from roles import catalog
from roles.models import Membership, Role
from tenancy.context import ORGANIZATION, context
from tests.factories import client_for, make_customer, make_member, make_org, make_user

SHARED_LABEL = "shared"


@dataclass
class World:
    org: Organization
    customer: Customer
    second_customer: Customer
    members: dict[str, Membership]  # system role key -> Acme membership (owner included)
    other_org: Organization
    other_customer: Customer  # Globex's

    def user(self, role_key: str) -> User:
        return self.members[role_key].user

    def client(self, role_key: str) -> Client:
        return client_for(self.user(role_key))

    @property
    def outsider(self) -> User:
        return self.other_org.owner

    def outsider_client(self) -> Client:
        return client_for(self.outsider)

    def role(self, role_key: str) -> Role:
        with context(org_id=self.org.id, role=ORGANIZATION, user_id=self.org.owner_id):
            return Role.objects.get(system_key=role_key)

    def url(self, path: str = "", org: Organization | None = None) -> str:
        return f"/o/{(org or self.org).slug}/{path}"

    def settings_url(self, path: str = "", org: Organization | None = None) -> str:
        return self.url(f"settings/{path}", org)

    def customer_url(self, customer: Customer | None = None, suffix: str = "") -> str:
        return self.url(f"customers/{(customer or self.customer).id}/{suffix}")


def build_world(*, label: str = "", plan_code: str = "free") -> World:
    """Acme with its customers and members, and Globex, made through the services.

    ``label`` prefixes the slugs and mail domains (``shared`` gives ``shared-acme`` and
    ``owner@shared-acme.test``); without it they are ``acme`` and ``owner@acme.test``.
    """
    prefix = f"{label}-" if label else ""
    acme_mail, globex_mail = f"{prefix}acme.test", f"{prefix}globex.test"
    org = make_org(
        "Acme",
        owner=make_user(f"owner@{acme_mail}"),
        slug=f"{prefix}acme",
        plan_code=plan_code,
    )
    customer = make_customer(org, "Northwind", region="eu", external_id="nw-1")
    second_customer = make_customer(org, "Hooli", region="us")
    with context(org_id=org.id, role=ORGANIZATION, user_id=org.owner_id):
        members = {catalog.OWNER: Membership.objects.select_related("user").get(user=org.owner)}
    for key in (role.key for role in catalog.SYSTEM_ROLES if role.key != catalog.OWNER):
        user = make_user(f"{key.replace('_', '')}@{acme_mail}")  # admin@…, enduser@…
        restricted = customer if key == catalog.END_USER else None
        members[key] = make_member(org, key, user=user, customer=restricted)
    other_org = make_org("Globex", owner=make_user(f"owner@{globex_mail}"), slug=f"{prefix}globex")
    other_customer = make_customer(other_org, "Paris Patisserie", region="eu", external_id="nw-1")
    return World(org, customer, second_customer, members, other_org, other_customer)


@pytest.fixture
def world() -> World:
    """The world, built fresh in this test's database state (see the module docstring)."""
    return build_world()


# --- The session world ----------------------------------------------------------------------


def _shared_mail_domains() -> tuple[str, ...]:
    return (f"@{SHARED_LABEL}-acme.test", f"@{SHARED_LABEL}-globex.test")


def _remove_shared_world() -> None:
    """Purge the session world's organizations (as their deletion task would) and users.

    Runs at session start (a kept test database may hold one from an interrupted run) and at
    the end (so a kept database holds none)."""
    from customers.services.deletion import organization_purge

    slugs = [f"{SHARED_LABEL}-acme", f"{SHARED_LABEL}-globex"]
    for org in Organization.objects.filter(slug__in=slugs):
        with context(org_id=org.id, role=ORGANIZATION):
            Organization.objects.filter(id=org.id).update(status=OrganizationStatus.DELETING)
            organization_purge(organization_id=org.id)
    # As the owner login: a user's cascade reaches tables the runtime login may not delete from.
    for domain in _shared_mail_domains():
        User.objects.using("owner").filter(email__endswith=domain).delete()


def _is_transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    by_marker = bool(marker and (marker.kwargs.get("transaction") or marker.args[:1] == (True,)))
    return by_marker or bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(scope="session")
def _shared_world_session(
    django_db_setup: None, django_db_blocker: Any, django_db_keepdb: bool
) -> Iterator[World]:
    with django_db_blocker.unblock():
        _remove_shared_world()
        built = build_world(label=SHARED_LABEL)
    yield built
    if django_db_keepdb:  # otherwise the test databases are dropped anyway
        with django_db_blocker.unblock():
            _remove_shared_world()


@pytest.fixture
def shared_world(request: pytest.FixtureRequest, _shared_world_session: World) -> World:
    """The session's committed world, as a deep copy (see the module docstring)."""
    if _is_transactional(request):
        pytest.fail(
            "shared_world is for non-transactional django_db tests: a transaction=True test "
            "flushes the databases and would empty it; use the `world` fixture instead."
        )
    if "world" in request.fixturenames:
        pytest.fail("A test uses one world: it (or one of its fixtures) asks for `world` too.")
    if request.node.get_closest_marker("django_db") is None:
        pytest.fail(
            "shared_world needs @pytest.mark.django_db (non-transactional), so that what the "
            "test writes is rolled back."
        )
    if not Organization.objects.filter(id=_shared_world_session.org.id).exists():
        pytest.fail(
            "The session world is gone: a transaction=True test flushed the databases before "
            "this test ran. pytest-django runs non-transactional tests first; has a plugin or "
            "an option reordered the tests?"
        )
    return copy.deepcopy(_shared_world_session)
