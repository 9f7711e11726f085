from __future__ import annotations

import os
from typing import Any

import pytest

from customers.models import Customer, Organization
from tests.dataplane.helpers import allow_local_outbound
from tests.world import World

# The Celery worker the suite starts is another process: it reads this from its environment.
# Only local test servers on 127.0.0.1 become reachable; every other private address stays
# refused.
os.environ["OUTBOUND_ALLOW_HTTP_LOCALHOST"] = "1"


@pytest.fixture
def acme(world: World, settings: Any) -> tuple[Organization, Customer]:
    """Acme and its customer Northwind, with outbound calls allowed to the tests' local servers
    (a module's own ``acme`` adds what it needs)."""
    allow_local_outbound(settings)
    return world.org, world.customer
