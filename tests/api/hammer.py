"""The body of the concurrent rate-limit test's worker processes.

It lives in its own module, importing nothing of Django's apps at module level, so the test can
start its processes with ``spawn`` (a fresh interpreter) instead of forking a process that
already runs threads (the live server, Playwright, database connections).
"""

from __future__ import annotations

import uuid
from typing import Any


def hammer(url: str, org_id: str, limit: int, attempts: int, now: float, queue: Any) -> None:
    import redis

    from api import ratelimit

    conn = redis.Redis.from_url(url)
    accepted = 0
    for _ in range(attempts):
        decision = ratelimit.check_and_count(
            org_id=uuid.UUID(org_id),
            customer_id=None,
            amounts={"api_call": 1},
            limits={"api_calls_per_minute": limit, "api_calls_per_day": 10_000},
            now=now,
            redis_client=conn,
        )
        accepted += decision.allowed
    queue.put(accepted)
