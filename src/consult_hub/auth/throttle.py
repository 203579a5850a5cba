"""Sign-in throttling: failed attempts per account and per client address.

Counted in Flask-Limiter's storage (RATELIMIT_STORAGE_URI: memory in development, Redis in
production), so every gunicorn worker sees the same counts. Only failures count, and the
check comes before any password hashing: a locked-out guesser costs a lookup, not argon2.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from flask import current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import MovingWindowSupport
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter

from consult_hub.extensions import limiter

NAMESPACE = "login-failures"


@dataclass(frozen=True)
class Lockout:
    """Sign-in refused until ``retry_after`` seconds from now, because of ``scope``."""

    scope: str  # "account" or "address"
    retry_after: int


def _strategy() -> RateLimiter:
    """A moving window where the storage has one (memory, Redis): no double burst at a boundary."""
    storage = limiter.storage
    if isinstance(storage, MovingWindowSupport):
        return MovingWindowRateLimiter(storage)
    return FixedWindowRateLimiter(storage)


def _account_key(username: str) -> str:
    """The account as typed, case-folded and hashed: any text makes a safe storage key."""
    folded = (username or "").strip().casefold()[:64]
    return "account:" + hashlib.sha256(folded.encode()).hexdigest()[:32]


def _address_key() -> str:
    """The client's address; an IPv6 client by its /64, which one subscriber holds whole
    (counting single addresses there would let a guesser walk through 2^64 of them)."""
    address = request.remote_addr or "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return "address:" + address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:  # ::ffff:203.0.113.7 is that IPv4 client
            return "address:" + str(parsed.ipv4_mapped)
        return "address:" + str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return "address:" + str(parsed)


def _namespace() -> str:
    """Kept apart from other sites sharing the storage, as Flask-Limiter's own keys are."""
    return f"{current_app.config.get('RATELIMIT_KEY_PREFIX') or ''}/{NAMESPACE}"


def _limits(username: str) -> list[tuple[str, RateLimitItem, str]]:
    config = current_app.config
    return [
        *(("account", item, _account_key(username))
          for item in parse_many(config["LOGIN_ACCOUNT_LIMIT"])),
        *(("address", item, _address_key())
          for item in parse_many(config["LOGIN_ADDRESS_LIMIT"])),
    ]


def _guarded(action, default):
    """Run ``action``; if the shared storage is down, log it and let sign-in go on unthrottled.

    Failing closed would lock every user out whenever Redis restarts.
    """
    try:
        return action()
    except Exception:  # noqa: BLE001  (redis, memcached… each raise their own)
        current_app.logger.exception("login throttle storage unavailable")
        return default


def lockout(username: str) -> Lockout | None:
    """The lock-out that applies to this attempt now, if any (the longest wait wins)."""

    limits = _limits(username)  # a malformed setting fails loudly, not open

    def check() -> Lockout | None:
        strategy = _strategy()
        found: Lockout | None = None
        for scope, item, key in limits:
            if strategy.test(item, _namespace(), key):
                continue
            reset_at = strategy.get_window_stats(item, _namespace(), key).reset_time
            wait = max(1, math.ceil(reset_at - time.time()))
            if found is None or wait > found.retry_after:
                found = Lockout(scope, wait)
        return found

    return _guarded(check, None)


def note_failure(username: str) -> Lockout | None:
    """Count a failed attempt against the account and the address; the lock-out it starts."""

    limits = _limits(username)

    def hit() -> None:
        strategy = _strategy()
        for _scope, item, key in limits:
            strategy.hit(item, _namespace(), key)

    _guarded(hit, None)
    return lockout(username)

