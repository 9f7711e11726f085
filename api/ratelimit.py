"""Per-customer rate limits and usage counters in Redis (SPEC §7).

Windows are fixed UTC minutes and UTC days. One Lua script checks every counter a request
touches (API calls per minute and per day, and for an event batch also events per minute and per
day) and increments all of them only when none would go over its limit. A refused request
therefore counts nowhere, an event batch is accepted or refused whole, and the check is atomic
across any number of web processes because Redis runs the script alone.

The same script adds accepted amounts to the organization's pending usage hash, which the beat
task ``api.tasks.flush_usage`` moves into ``UsageRecord`` rows once a minute (batches, never a row
per call).

Keys: ``rl:<org>:<customer, or the org again for the organization-wide bucket>:<limit>:<window
start>`` expiring when the window ends; ``usage:<database>:<org>`` (hash ``customer|day|kind`` →
count) and the set ``usage:<database>:dirty`` of organizations with pending usage. The database
name in the usage keys keeps two installations that share a Redis database from flushing into
each other.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import redis
from django.conf import settings
from django.db import connections

MINUTE = 60
DAY = 86_400
API_CALL = "api_call"
EVENT = "event"

# limit key -> (usage kind, window length in seconds)
LIMIT_WINDOWS: dict[str, tuple[str, int]] = {
    "api_calls_per_minute": (API_CALL, MINUTE),
    "api_calls_per_day": (API_CALL, DAY),
    "events_per_minute": (EVENT, MINUTE),
    "events_per_day": (EVENT, DAY),
}
KIND_LIMITS: dict[str, tuple[str, ...]] = {
    API_CALL: ("api_calls_per_minute", "api_calls_per_day"),
    EVENT: ("events_per_minute", "events_per_day"),
}
# A counter outlives its window by this much, so a clock a little behind Redis still finds it.
TTL_GRACE_SECONDS = 5

_CHECK_AND_COUNT = """
local n = tonumber(ARGV[1])
local counts = {}
local refused = {}
for i = 1, n do
  local limit = tonumber(ARGV[1 + 3 * i - 2])
  local amount = tonumber(ARGV[1 + 3 * i - 1])
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  counts[i] = current
  if current + amount > limit then
    refused[#refused + 1] = i
  end
end
if #refused > 0 then
  return {0, counts, refused}
end
for i = 1, n do
  local amount = tonumber(ARGV[1 + 3 * i - 1])
  local ttl = tonumber(ARGV[1 + 3 * i])
  local value = redis.call('INCRBY', KEYS[i], amount)
  if value == amount then
    redis.call('EXPIRE', KEYS[i], ttl)
  end
  counts[i] = value
end
local base = 2 + 3 * n
local fields = tonumber(ARGV[base + 1])
for j = 1, fields do
  redis.call('HINCRBY', KEYS[n + 1], ARGV[base + 2 * j], tonumber(ARGV[base + 2 * j + 1]))
end
if fields > 0 then
  redis.call('SADD', KEYS[n + 2], ARGV[base])
end
return {1, counts, refused}
"""

_client: redis.Redis | None = None
_client_url: str | None = None
_script: Any = None


def client() -> redis.Redis:
    """This process's Redis client (redis-py reconnects by itself after a fork)."""
    global _client, _client_url
    if _client is None or _client_url != settings.REDIS_URL:
        _client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        _client_url = settings.REDIS_URL
    return _client


def _check_script() -> Any:
    """The registered script; redis-py runs it by SHA and loads it again after a restart."""
    global _script
    if _script is None:
        _script = client().register_script(_CHECK_AND_COUNT)
    return _script


@dataclass(frozen=True)
class Window:
    limit_key: str
    kind: str
    length: int
    start: int

    @property
    def end(self) -> int:
        return self.start + self.length


def window(limit_key: str, now: float) -> Window:
    kind, length = LIMIT_WINDOWS[limit_key]
    return Window(limit_key, kind, length, int(now // length) * length)


def counter_key(org_id: uuid.UUID, customer_id: uuid.UUID | None, w: Window) -> str:
    bucket = customer_id or org_id
    return f"rl:{org_id}:{bucket}:{w.limit_key}:{w.start}"


def usage_namespace() -> str:
    return f"usage:{connections['default'].settings_dict['NAME']}"


def usage_hash_key(org_id: uuid.UUID | str) -> str:
    return f"{usage_namespace()}:{org_id}"


def usage_dirty_key() -> str:
    return f"{usage_namespace()}:dirty"


def usage_field(customer_id: uuid.UUID | None, day: date, kind: str) -> str:
    return f"{customer_id or ''}|{day.isoformat()}|{kind}"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    counts: dict[str, int]  # limit key -> count in its current window (after this request)
    limits: dict[str, int]
    refused: tuple[str, ...]  # limit keys that would have gone over
    retry_after: int  # seconds until the last refused window ends (0 when allowed)

    @property
    def refused_limit(self) -> str | None:
        """The limit to name in the error: the one whose window ends last."""
        return self.refused[-1] if self.refused else None

    def remaining(self, limit_key: str) -> int:
        return max(0, self.limits[limit_key] - self.counts.get(limit_key, 0))


def check_and_count(
    *,
    org_id: uuid.UUID,
    customer_id: uuid.UUID | None,
    amounts: dict[str, int],
    limits: dict[str, int],
    now: float | None = None,
    redis_client: redis.Redis | None = None,
) -> Decision:
    """Count ``amounts`` (usage kind -> amount) if no limit of theirs would be exceeded.

    ``limits`` maps every limit key of the kinds in ``amounts`` to its effective value. ``now``
    (seconds since the epoch) exists so tests can pin the window.
    """
    now = time.time() if now is None else now
    conn = redis_client or client()
    windows: list[tuple[Window, int]] = []
    for kind, amount in amounts.items():
        for limit_key in KIND_LIMITS[kind]:
            windows.append((window(limit_key, now), amount))
    keys = [counter_key(org_id, customer_id, w) for w, _ in windows]
    args: list[Any] = [len(windows)]
    for w, amount in windows:
        ttl = max(1, math.ceil(w.end - now)) + TTL_GRACE_SECONDS
        args += [limits[w.limit_key], amount, ttl]
    day = datetime.fromtimestamp(now, UTC).date()
    fields = [(usage_field(customer_id, day, kind), amount) for kind, amount in amounts.items()]
    args += [str(org_id), len(fields)]
    for field, amount in fields:
        args += [field, amount]
    keys += [usage_hash_key(org_id), usage_dirty_key()]
    allowed, counts, refused_idx = _check_script()(keys=keys, args=args, client=conn)
    by_key = {w.limit_key: int(c) for (w, _), c in zip(windows, counts, strict=True)}
    refused = tuple(
        sorted(
            (windows[int(i) - 1][0] for i in refused_idx),
            key=lambda w: w.end,
        )
    )
    retry_after = max((math.ceil(w.end - now) for w in refused), default=0)
    return Decision(
        allowed=bool(allowed),
        counts=by_key,
        limits={w.limit_key: limits[w.limit_key] for w, _ in windows},
        refused=tuple(w.limit_key for w in refused),
        retry_after=max(1, retry_after) if refused else 0,
    )


def current_counts(
    *,
    org_id: uuid.UUID,
    customer_id: uuid.UUID | None,
    now: float | None = None,
    redis_client: redis.Redis | None = None,
) -> dict[str, int]:
    """The counts of every rate-limit window in force now, without counting anything."""
    now = time.time() if now is None else now
    conn = redis_client or client()
    limit_keys = list(LIMIT_WINDOWS)
    values = conn.mget([counter_key(org_id, customer_id, window(k, now)) for k in limit_keys])
    return {k: int(v or 0) for k, v in zip(limit_keys, values, strict=True)}


def seconds_left_in_minute(now: float | None = None) -> float:
    now = time.time() if now is None else now
    return MINUTE - (now % MINUTE)
