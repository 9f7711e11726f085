"""Failed (401) API calls are limited per client address (issue 13): past the limit the API
answers 429 with ``Retry-After`` in its JSON error shape, before it looks any key up; calls that
end otherwise never count."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from api import auth
from fastn_console.throttle import API_UNAUTHENTICATED_PER_IP
from tests.api.conftest import Api, make_key
from tests.conftest import ALL_DATABASES
from tests.world import World

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

LIMIT = API_UNAUTHENTICATED_PER_IP.limit
UNKNOWN_CUSTOMER = "00000000-0000-4000-8000-000000000001"


def _from(address: str) -> Api:
    return Api(Client(REMOTE_ADDR=address))


def _wrong(key: str) -> str:
    """The same organization part, another secret: found nowhere."""
    return key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")


@pytest.fixture
def key(world: World, fresh_minute: Callable[[float], None]) -> str:
    raw = make_key(world.org)
    fresh_minute(15.0)  # every call of a test lands in one throttle window
    return raw


def test_guessing_keys_from_one_address_is_cut_off(key: str) -> None:
    guesser = _from("198.51.100.60")
    for n in range(LIMIT):
        answer = guesser("GET", "/key", _wrong(key) if n % 2 else None)
        assert answer.status_code == 401
    refused = guesser("GET", "/key", _wrong(key))
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert "invalid API key" in error["message"]
    assert error["limit"]["retry_after"] == int(refused["Retry-After"])
    assert refused["Content-Type"] == "application/json"
    # Another address is not affected.
    assert _from("198.51.100.61")("GET", "/key", key).status_code == 200


def test_past_the_limit_no_key_is_looked_up(key: str, monkeypatch) -> None:
    guesser = _from("198.51.100.62")
    for _ in range(LIMIT):
        assert guesser("GET", "/key", _wrong(key)).status_code == 401
    # The call that passes the limit was looked up (only its 401 made it count) and is refused.
    assert guesser("GET", "/key", _wrong(key)).status_code == 429
    looked_up: list[object] = []
    real_find_key = auth._find_key

    def spy(parsed):  # type: ignore[no-untyped-def]
        looked_up.append(parsed)
        return real_find_key(parsed)

    monkeypatch.setattr(auth, "_find_key", spy)
    assert guesser("GET", "/key", _wrong(key)).status_code == 429
    # Even the right key waits for the window to end: the address is refused, not the key.
    assert guesser("GET", "/key", key).status_code == 429
    assert looked_up == []


def test_calls_that_do_not_end_in_401_never_count(key: str) -> None:
    caller = _from("198.51.100.63")
    for _ in range(LIMIT + 5):
        answer = caller("GET", "/key", key, customer=UNKNOWN_CUSTOMER)
        assert answer.status_code == 404
    assert caller("GET", "/key", _wrong(key)).status_code == 401
    assert caller("GET", "/key", key).status_code == 200
