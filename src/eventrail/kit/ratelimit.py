"""Fixed one-minute windows, counted in memory (one process) or in Redis (shared)."""

from __future__ import annotations

import logging
import math
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


class RateLimiter:
    """``check(limit, *key)`` counts one request of ``key`` in its minute."""

    def __init__(self, redis_url: str | None = None, *, key_prefix: str = "eventrail") -> None:
        self.shared = redis_url is not None
        backend: storage.Storage = (
            storage.RedisStorage(redis_url, key_prefix=key_prefix)
            if redis_url is not None
            else storage.MemoryStorage()
        )
        self._limiter = strategies.FixedWindowRateLimiter(backend)

    def check(self, limit: int, *key: str) -> Decision:
        item = RateLimitItemPerMinute(limit)
        try:
            allowed = self._limiter.hit(item, *key)
            stats = self._limiter.get_window_stats(item, *key)
        except Exception:
            # An unreachable Redis must not take the API down: count nothing, allow.
            log.warning("rate limit storage unavailable; request allowed", exc_info=True)
            return Decision(True, limit, limit, int(time.time()) + 60)
        return Decision(allowed, limit, max(0, stats.remaining), math.ceil(stats.reset_time))
