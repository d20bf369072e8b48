"""SingleFlight: concurrent lookups of one key share one call."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from eventrail.kit.flight import SingleFlight

pytestmark = pytest.mark.anyio


async def test_concurrent_callers_of_one_key_share_one_call() -> None:
    flight = SingleFlight()
    calls: list[str] = []
    lock = threading.Lock()

    def slow(key: str) -> str:
        with lock:
            calls.append(key)
        time.sleep(0.05)
        return key.upper()

    results = await asyncio.gather(*(flight.run("a", slow, "a") for _ in range(20)))
    assert results == ["A"] * 20
    assert calls == ["a"]
    # once it finished, the next caller runs it again (nothing is cached here)
    assert await flight.run("a", slow, "a") == "A"
    assert calls == ["a", "a"]


async def test_different_keys_run_separately() -> None:
    flight = SingleFlight()
    calls: list[int] = []

    def work(n: int) -> int:
        calls.append(n)
        time.sleep(0.02)
        return n * 2

    assert await asyncio.gather(flight.run(1, work, 1), flight.run(2, work, 2)) == [2, 4]
    assert sorted(calls) == [1, 2]


async def test_an_error_reaches_every_caller_and_is_not_kept() -> None:
    flight = SingleFlight()
    attempts: list[int] = []

    def fail() -> None:
        attempts.append(1)
        time.sleep(0.02)
        raise ValueError("lookup failed")

    results = await asyncio.gather(
        *(flight.run("k", fail) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, ValueError) and str(r) == "lookup failed" for r in results)
    assert len(attempts) == 1
    with pytest.raises(ValueError):
        await flight.run("k", fail)
    assert len(attempts) == 2


async def test_a_caller_that_goes_away_does_not_cancel_the_others() -> None:
    flight = SingleFlight()

    def slow() -> str:
        time.sleep(0.1)
        return "done"

    first = asyncio.ensure_future(flight.run("k", slow))
    second = asyncio.ensure_future(flight.run("k", slow))
    await asyncio.sleep(0.02)
    first.cancel()
    assert await second == "done"
    with pytest.raises(asyncio.CancelledError):
        await first
