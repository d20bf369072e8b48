"""The in-memory rate limiter: a window starts at a key's first request and lasts a
minute; keys are counted apart; the count, not a timer, decides."""

from __future__ import annotations

import time

import pytest

from eventrail.kit import ratelimit
from eventrail.kit.ratelimit import RateLimiter


def test_counts_within_the_window_and_refuses_past_the_limit() -> None:
    limiter = RateLimiter()
    before = time.time()
    decisions = [limiter.check(3, "org", "till", "GET /x") for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    assert all(d.limit == 3 for d in decisions)
    # the window ends a minute after its first request
    assert before + 59 <= decisions[0].reset_at <= time.time() + 61
    assert len({d.reset_at for d in decisions}) == 1
    assert 1 <= decisions[-1].retry_after <= 60


def test_keys_are_counted_apart() -> None:
    limiter = RateLimiter()
    assert limiter.check(1, "org-1", "a", "e").allowed
    assert not limiter.check(1, "org-1", "a", "e").allowed
    assert limiter.check(1, "org-2", "a", "e").allowed
    assert limiter.check(1, "org-1", "b", "e").allowed
    assert limiter.check(1, "org-1", "a", "other").allowed


def test_a_new_window_starts_after_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = RateLimiter()
    now = [1_000_000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: now[0])
    assert limiter.check(1, "k").allowed
    assert not limiter.check(1, "k").allowed
    now[0] += 59.9
    assert not limiter.check(1, "k").allowed
    now[0] += 0.2
    fresh = limiter.check(1, "k")
    assert fresh.allowed
    assert fresh.reset_at == int(now[0] + 60) + (0 if (now[0] + 60).is_integer() else 1)


def test_expired_windows_are_pruned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit._MemoryWindows, "_PRUNE_AT", 10)
    limiter = RateLimiter()
    now = [2_000_000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: now[0])
    for i in range(10):
        limiter.check(5, f"old-{i}")
    now[0] += 61
    limiter.check(5, "new")  # the 11th key: the expired ten go
    assert len(limiter._memory._windows) == 1
