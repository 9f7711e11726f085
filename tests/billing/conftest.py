import pytest

from tests.customers.world import World, make_world


@pytest.fixture
def world() -> World:
    return make_world()
