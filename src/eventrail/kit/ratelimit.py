"""Fixed windows, counted in memory (one process) or in Redis (shared by processes).

A window starts at a key's first count and lasts ``window`` seconds (a minute
for request budgets, an hour for the slower login budget). Counting is one
atomic step that returns the new count (``INCRBY`` in Redis, a dict under a lock
in memory), so concurrent requests cannot all see a budget as not yet spent;
``refund`` gives a count back (a login that succeeded).

Memory is bounded by construction: at most ``MAX_KEYS`` windows are kept; past
that the expired ones are dropped and then the oldest (those nearest their end).
Callers pass short keys: anything a client chose (a till code) is digested
first (``subject``).

When Redis cannot be reached the limiter counts in this process's memory
instead (a per-process budget, never none), says so once in the log and in
``degraded``, retries Redis at most every ``RETRY_SECONDS``, and says once when
it is back.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger("eventrail.ratelimit")

MINUTE = 60
HOUR = 3600
T = TypeVar("T")


@dataclass(slots=True)  # not frozen: one is built for every request, at a quarter the cost
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # epoch seconds when the window ends
    window: int = MINUTE

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"X-RateLimit-Limit", str(self.limit).encode()),
            (b"X-RateLimit-Remaining", str(self.remaining).encode()),
            (b"X-RateLimit-Reset", str(self.reset_at).encode()),
        ]

    def refusal_headers(self) -> dict[str, str]:
        """The headers of a 429 for this decision."""
        headers = {k.decode(): v.decode() for k, v in self.headers()}
        headers["Retry-After"] = str(self.retry_after)
        return headers

    @property
    def retry_after(self) -> int:
        return min(self.window, max(1, math.ceil(self.reset_at - time.time())))


def subject(kind: str, name: str) -> str:
    """A short, fixed-size key for a name a client chose (a till code, a client key)."""
    return f"{kind}:{hashlib.blake2b(name.encode(), digest_size=12).hexdigest()}"


class _MemoryWindows:
    MAX_KEYS = 100_000

    def __init__(self) -> None:
        # insertion order = window start order: the first keys end first
        self._windows: dict[tuple[int, tuple[str, ...]], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def add(self, window: int, key: tuple[str, ...], amount: int) -> tuple[int, float]:
        """Adds ``amount`` to the key's count; (the new count, when its window ends)."""
        now = time.time()
        name = (window, key)
        with self._lock:
            ends, count = self._windows.get(name, (0.0, 0))
            if ends <= now:
                self._windows.pop(name, None)
                if len(self._windows) >= self.MAX_KEYS:
                    self._make_room(now)
                ends, count = now + window, 0
            count = max(0, count + amount)
            self._windows[name] = (ends, count)
        return count, ends

    def _make_room(self, now: float) -> None:
        live = {k: v for k, v in self._windows.items() if v[0] > now}
        if len(live) >= self.MAX_KEYS:  # drop the tenth nearest its end
            drop = self.MAX_KEYS // 10
            live = dict(list(live.items())[drop:])
        self._windows = live

    def get(self, window: int, key: tuple[str, ...]) -> tuple[int, float]:
        now = time.time()
        with self._lock:
            ends, count = self._windows.get((window, key), (0.0, 0))
        return (count, ends) if ends > now else (0, now + window)

    def __len__(self) -> int:
        return len(self._windows)


# INCRBY and a first-count expiry in one step; returns the count and the ms left.
_ADD = """
local c = redis.call('INCRBY', KEYS[1], ARGV[1])
if c < 0 then redis.call('SET', KEYS[1], 0, 'KEEPTTL'); c = 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
return {c, ttl}
"""
_REFUND = """
if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 then
  return redis.call('DECRBY', KEYS[1], ARGV[1])
end
return 0
"""


class _RedisWindows:
    RETRY_SECONDS = 5.0
    TIMEOUT_SECONDS = 0.5

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.prefix = prefix
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=self.TIMEOUT_SECONDS,
            socket_connect_timeout=self.TIMEOUT_SECONDS,
        )
        self._add = self._client.register_script(_ADD)
        self._refund = self._client.register_script(_REFUND)
        self._down_until = 0.0
        self.degraded = False
        self._state_lock = threading.Lock()

    def _name(self, window: int, key: tuple[str, ...]) -> str:
        return ":".join((self.prefix, f"w{window}", *key))

    def close(self) -> None:
        self._client.close()

    def available(self) -> bool:
        return not self.degraded or time.monotonic() >= self._down_until

    def failed(self, exc: BaseException) -> None:
        with self._state_lock:
            self._down_until = time.monotonic() + self.RETRY_SECONDS
            if not self.degraded:
                self.degraded = True
                log.error(
                    "rate limits: Redis unreachable (%s); counting in this process until it "
                    "is back",
                    type(exc).__name__,
                )

    def succeeded(self) -> None:
        if self.degraded:
            with self._state_lock:
                if self.degraded:
                    self.degraded = False
                    log.warning("rate limits: Redis reachable again; counting there")

    def add(self, window: int, key: tuple[str, ...], amount: int) -> tuple[int, float]:
        count, ttl_ms = self._add(keys=[self._name(window, key)], args=[amount, window * 1000])
        return int(count), time.time() + int(ttl_ms) / 1000

    def refund(self, window: int, key: tuple[str, ...], amount: int) -> None:
        self._refund(keys=[self._name(window, key)], args=[amount])

    def get(self, window: int, key: tuple[str, ...]) -> tuple[int, float]:
        name = self._name(window, key)
        pipe = self._client.pipeline(transaction=False)
        pipe.get(name)
        pipe.pttl(name)
        raw, ttl_ms = pipe.execute()
        if raw is None or int(ttl_ms) < 0:
            return 0, time.time() + window
        return int(raw), time.time() + int(ttl_ms) / 1000


class RateLimiter:
    """``check(limit, *key)`` counts one request of ``key`` in its minute and says
    whether it is within ``limit``; ``count`` does so for any window; ``peek``
    tells whether one more would be allowed, counting nothing; ``refund`` gives
    one back."""

    def __init__(self, redis_url: str | None = None, *, key_prefix: str = "eventrail") -> None:
        self.shared = redis_url is not None
        self._memory = _MemoryWindows()
        self._redis = _RedisWindows(redis_url, key_prefix) if redis_url is not None else None

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()

    @property
    def degraded(self) -> bool:
        """Redis is configured but unreachable: budgets are per process for now."""
        return self._redis is not None and self._redis.degraded

    def _shared(self, op: Callable[[_RedisWindows], T], local: Callable[[], T]) -> T:
        """``op`` on Redis when it is configured and reachable, else ``local``."""
        redis = self._redis
        if redis is not None and redis.available():
            try:
                result = op(redis)
            except Exception as exc:  # any failure of the store: count here instead
                redis.failed(exc)
            else:
                redis.succeeded()
                return result
        return local()

    def count(self, limit: int, window: int, *key: str) -> Decision:
        if self._redis is None:  # one process: no closures to build on every request
            count, ends = self._memory.add(window, key, 1)
        else:
            count, ends = self._shared(
                lambda r: r.add(window, key, 1), lambda: self._memory.add(window, key, 1)
            )
        return Decision(count <= limit, limit, max(0, limit - count), math.ceil(ends), window)

    def check(self, limit: int, *key: str) -> Decision:
        return self.count(limit, MINUTE, *key)

    def peek(self, limit: int, *key: str, window: int = MINUTE) -> Decision:
        count, ends = self._shared(
            lambda r: r.get(window, key), lambda: self._memory.get(window, key)
        )
        return Decision(count < limit, limit, max(0, limit - count), math.ceil(ends), window)

    def refund(self, window: int, *key: str) -> None:
        def local() -> None:
            self._memory.add(window, key, -1)

        self._shared(lambda r: r.refund(window, key, 1), local)
