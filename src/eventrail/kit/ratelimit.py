"""Fixed one-minute windows, counted in memory (one process) or in Redis (shared).

A window starts at a key's first request and lasts a minute. In memory the
count is a dict under a lock (the ``limits`` library's memory storage starts
a timer thread per expiry pass, which cost 8% of the event loop, measured);
Redis goes through ``limits``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

from limits import RateLimitItemPerMinute, storage, strategies

log = logging.getLogger("eventrail.ratelimit")


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # epoch seconds when the window ends

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"X-RateLimit-Limit", str(self.limit).encode()),
            (b"X-RateLimit-Remaining", str(self.remaining).encode()),
            (b"X-RateLimit-Reset", str(self.reset_at).encode()),
        ]

    @property
    def retry_after(self) -> int:
        return min(60, max(1, math.ceil(self.reset_at - time.time())))


class _MemoryWindows:
    _PRUNE_AT = 100_000

    def __init__(self) -> None:
        self._windows: dict[tuple[str, ...], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, limit: int, key: tuple[str, ...]) -> Decision:
        now = time.time()
        with self._lock:
            ends, count = self._windows.get(key, (0.0, 0))
            if ends <= now:
                ends, count = now + 60, 0
            count += 1
            self._windows[key] = (ends, count)
            if len(self._windows) > self._PRUNE_AT:
                self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        return Decision(count <= limit, limit, max(0, limit - count), math.ceil(ends))

    def peek(self, limit: int, key: tuple[str, ...]) -> Decision:
        now = time.time()
        with self._lock:
            ends, count = self._windows.get(key, (0.0, 0))
        if ends <= now:
            ends, count = now + 60, 0
        return Decision(count < limit, limit, max(0, limit - count), math.ceil(ends))


class RateLimiter:
    """``check(limit, *key)`` counts one request of ``key`` in its minute; ``peek(limit,
    *key)`` tells whether one more would be allowed, counting nothing."""

    def __init__(self, redis_url: str | None = None, *, key_prefix: str = "eventrail") -> None:
        self.shared = redis_url is not None
        self._memory = _MemoryWindows()
        self._limiter = (
            strategies.FixedWindowRateLimiter(
                storage.RedisStorage(redis_url, key_prefix=key_prefix)
            )
            if redis_url is not None
            else None
        )

    def check(self, limit: int, *key: str) -> Decision:
        if self._limiter is None:
            return self._memory.hit(limit, key)
        item = RateLimitItemPerMinute(limit)
        try:
            allowed = self._limiter.hit(item, *key)
            stats = self._limiter.get_window_stats(item, *key)
        except Exception:
            # An unreachable Redis must not take the API down: count nothing, allow.
            log.warning("rate limit storage unavailable; request allowed", exc_info=True)
            return Decision(True, limit, limit, int(time.time()) + 60)
        return Decision(allowed, limit, max(0, stats.remaining), math.ceil(stats.reset_time))

    def peek(self, limit: int, *key: str) -> Decision:
        if self._limiter is None:
            return self._memory.peek(limit, key)
        item = RateLimitItemPerMinute(limit)
        try:
            stats = self._limiter.get_window_stats(item, *key)
        except Exception:
            log.warning("rate limit storage unavailable; request allowed", exc_info=True)
            return Decision(True, limit, limit, int(time.time()) + 60)
        return Decision(
            stats.remaining > 0, limit, max(0, stats.remaining), math.ceil(stats.reset_time)
        )
