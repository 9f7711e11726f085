"""Throttles for public, abusable actions: one table of rules, counted in Redis.

Each ``Rule`` allows ``limit`` attempts per fixed window of ``window_seconds`` for one subject
(a client address from ``fastn_console.clients.client_ip``, or a target email address, always
lowercased). ``throttle_hit(request, *checks)`` counts one attempt against every rule it is
given and returns how long to wait when any of them is over its limit. A refused attempt still
counts: hammering a refused form only lengthens the wait.

Counters live in the Django cache (Redis), keyed by the rule, a hash of the subject and the
window. When Redis cannot be reached the throttle lets the attempt through and logs it: a
signup or a password reset is never lost to a cache outage (SPEC §8), and the cache client
fails fast (its socket timeouts are set in settings).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from fastn_console.clients import client_ip

logger = logging.getLogger(__name__)

HOUR = 3600
DAY = 86_400


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    window_seconds: int
    message: str


SIGNUP_PER_IP = Rule(
    "signup:ip", 10, HOUR, "Too many signups from your network. Try again in {wait}."
)
SIGNUP_PER_EMAIL = Rule(
    "signup:email", 3, DAY, "Too many signups for this email address. Try again in {wait}."
)
SIGNUP_RESEND = Rule(
    "signup:resend", 5, DAY, "The confirmation link was sent too often today. Try again in {wait}."
)
SIGNUP_CONFIRM = Rule(
    "signup:confirm", 10, HOUR, "Too many tries to confirm this signup. Try again in {wait}."
)
PASSWORD_RESET_PER_IP = Rule(
    "password_reset:ip",
    10,
    HOUR,
    "Too many password resets from your network. Try again in {wait}.",
)
PASSWORD_RESET_PER_EMAIL = Rule(
    "password_reset:email", 3, HOUR, "Too many resets for this address. Try again in {wait}."
)
API_UNAUTHENTICATED_PER_IP = Rule(
    "api_401:ip", 60, 60, "Too many requests with an invalid API key. Try again in {wait}."
)


@dataclass(frozen=True)
class Refused:
    rule: Rule
    retry_after: int  # seconds until the window that refused ends

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after / 60))
        wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
        return self.rule.message.format(wait=wait)

    def refuse(self, response: HttpResponse) -> HttpResponse:
        """``response`` as the refusal: status 429 with ``Retry-After``."""
        response.status_code = 429
        response["Retry-After"] = str(self.retry_after)
        return response


def by_ip(rule: Rule, request: HttpRequest) -> tuple[Rule, str]:
    return rule, client_ip(request)


def by_address(rule: Rule, email: str) -> tuple[Rule, str]:
    return rule, email.strip().lower()


def _key(rule: Rule, subject: str, window_start: int) -> str:
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"throttle:{rule.name}:{digest}:{window_start}"


def _window(rule: Rule, now: float) -> tuple[int, int]:
    """The start of ``rule``'s window at ``now`` and the seconds left in it."""
    start = int(now // rule.window_seconds) * rule.window_seconds
    return start, max(1, math.ceil(start + rule.window_seconds - now))


def throttle_peek(*checks: tuple[Rule, str], now: float | None = None) -> Refused | None:
    """Whether one more attempt would be refused, without counting one (e.g. to refuse a call
    before doing any work for it, when only some outcomes count)."""
    now = time.time() if now is None else now
    for rule, subject in checks:
        start, left = _window(rule, now)
        try:
            count = cache.get(_key(rule, subject, start)) or 0
        except Exception:  # noqa: BLE001 - an unreachable cache lets the attempt through
            # One timeout is enough: the other rules would wait for the same cache.
            logger.warning("Throttle %s not read: the cache is unreachable", rule.name)
            return None
        if int(count) >= rule.limit:
            return Refused(rule, left)
    return None


def throttle_hit(*checks: tuple[Rule, str], now: float | None = None) -> Refused | None:
    """Count one attempt for each ``(rule, subject)``; the first refusal, or ``None``."""
    now = time.time() if now is None else now
    refused: Refused | None = None
    for rule, subject in checks:
        start, left = _window(rule, now)
        key = _key(rule, subject, start)
        try:
            cache.add(key, 0, rule.window_seconds + 5)
            count = cache.incr(key)
        except Exception:  # noqa: BLE001 - an unreachable cache lets the attempt through
            # One timeout is enough: the other rules would wait for the same cache.
            logger.warning("Throttle %s not counted: the cache is unreachable", rule.name)
            break
        if count > rule.limit and refused is None:
            refused = Refused(rule, left)
    return refused
