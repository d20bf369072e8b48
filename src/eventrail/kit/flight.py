"""Single flight: concurrent requests that need the same slow lookup share one.

When a cached entry expires under load, every request in flight misses at
once; without this each would take a worker thread and a database connection
for the same answer (measured: a burst of new connections every second).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import anyio

T = TypeVar("T")


class SingleFlight:
    """``await run(key, fn, *args)`` runs ``fn(*args)`` in a worker thread, once for
    all callers that ask for ``key`` while it runs. Event-loop use only."""

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[Any]] = {}

    async def run(self, key: Hashable, fn: Callable[..., T], *args: Any) -> T:
        running = self._running.get(key)
        if running is None:
            running = asyncio.ensure_future(anyio.to_thread.run_sync(fn, *args))
            self._running[key] = running
            running.add_done_callback(lambda _: self._running.pop(key, None))
        # shield: a caller that goes away must not cancel the others' lookup
        result: T = await asyncio.shield(running)
        return result
