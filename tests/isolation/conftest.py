"""Fixtures of the adversarial isolation suite.

The probes need real transactions: a stale context is a *committed* transaction followed by a
new one on the same connection, and constraints must fire as they do in production. Building
the isolation world (``tests/isolation/world.py``) through the services takes seconds, so it is
committed once per session (``isolation_world``) and every probe runs in its own transaction that
is always rolled back (``tests.isolation.world.probing``). The test databases are dropped at the
end of the session.

Tests that use ``isolation_world`` carry no ``django_db`` mark: ``isolation_world`` itself grants
database access, so pytest-django neither wraps them in a transaction nor flushes between them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.isolation.world import IsolationWorld, build_world, world_is_intact


@pytest.fixture(scope="session")
def committed_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[IsolationWorld]:
    with django_db_blocker.unblock():
        isolation_world = build_world()
    yield isolation_world
    with django_db_blocker.unblock():
        from django.db import connections

        connections.close_all()


@pytest.fixture
def isolation_world(
    committed_world: IsolationWorld, django_db_blocker: Any
) -> Iterator[IsolationWorld]:
    """The committed isolation world, with database access for the test's own (rolled-back) probes.

    A ``transaction=True`` test flushes every database when it ends; pytest-django runs those
    before tests without a ``django_db`` mark, but should one run in between, the isolation world is
    built again.
    """
    with django_db_blocker.unblock():
        if not world_is_intact(committed_world):
            committed_world.rebuild()
        yield committed_world


@pytest.fixture
def unwrapped_db(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Database access in autocommit mode, for tests that must commit DDL and undo it."""
    with django_db_blocker.unblock():
        yield
