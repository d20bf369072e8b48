"""The in-memory rate limiter: a window starts at a key's first request and lasts a
minute; keys are counted apart; the count, not a timer, decides."""

from __future__ import annotations

import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor

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
    monkeypatch.setattr(ratelimit._MemoryWindows, "MAX_KEYS", 10)
    limiter = RateLimiter()
    now = [2_000_000.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: now[0])
    for i in range(10):
        limiter.check(5, f"old-{i}")
    now[0] += 61
    limiter.check(5, "new")  # the 11th key: the expired ten go
    assert len(limiter._memory) == 1


def test_memory_is_bounded_by_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    """However many distinct keys arrive within a minute, at most MAX_KEYS windows are
    kept: those nearest their end go first."""
    monkeypatch.setattr(ratelimit._MemoryWindows, "MAX_KEYS", 100)
    limiter = RateLimiter()
    for i in range(1000):
        limiter.check(5, f"key-{i}")
        assert len(limiter._memory) <= 100
    assert limiter.peek(5, "key-999").remaining == 4  # the newest are kept
    assert limiter.peek(5, "key-0").remaining == 5  # the oldest went


def test_subjects_are_short_whatever_the_name() -> None:
    """Names a client chose (a 4 MB till code) become fixed-size keys."""
    long = ratelimit.subject("till", "x" * 4_000_000)
    assert long.startswith("till:")
    assert len(long) == len(ratelimit.subject("till", "a"))
    assert long != ratelimit.subject("till", "x" * 3_999_999)


def test_counts_are_atomic_and_refunds_give_one_back() -> None:
    limiter = RateLimiter()
    with ThreadPoolExecutor(8) as pool:
        decisions = list(pool.map(lambda _: limiter.count(10, 3600, "k"), range(40)))
    assert sum(d.allowed for d in decisions) == 10, "exactly the budget, never more"
    assert limiter.peek(10, "k", window=3600).remaining == 0
    for _ in range(35):
        limiter.refund(3600, "k")
    assert limiter.peek(10, "k", window=3600).remaining == 5
    for _ in range(10):
        limiter.refund(3600, "k")
    assert limiter.peek(10, "k", window=3600).remaining == 10, "never below zero"


def test_an_hour_window_lasts_an_hour() -> None:
    limiter = RateLimiter()
    decision = limiter.count(1, 3600, "h")
    assert decision.allowed
    refused = limiter.count(1, 3600, "h")
    assert not refused.allowed
    assert time.time() + 3590 <= refused.reset_at <= time.time() + 3601
    assert 60 < refused.retry_after <= 3600


def test_an_unreachable_redis_counts_in_memory_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis down: budgets are counted in this process (never fail open), one log line
    when it goes and `degraded` says so."""
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    limiter = RateLimiter(f"redis://127.0.0.1:{port}/0")
    with caplog.at_level(logging.WARNING, logger="eventrail.ratelimit"):
        decisions = [limiter.check(3, "org", "till", "GET /x") for _ in range(5)]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert limiter.degraded
    lines = [r for r in caplog.records if r.name == "eventrail.ratelimit"]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "Redis unreachable" in lines[0].getMessage()


def test_windows_of_different_lengths_are_counted_apart() -> None:
    limiter = RateLimiter()
    assert limiter.count(1, 60, "k").allowed
    assert limiter.count(1, 3600, "k").allowed
    assert not limiter.count(1, 60, "k").allowed
