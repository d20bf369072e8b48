"""Handlers waiting for the verdict of their request (``?wait=true``), and what
ingestion asks of the processors (``Processing``): processing implements it and
the application hands it to the ``Ingestor``, so that ingest never imports
processing (processing depends on ingest)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from eventrail.ingest.queue import Queued

Verdict = tuple[str | None, str]


class Processing(Protocol):
    """The processors, as ingestion sees them."""

    def dry_run(self, request: Queued) -> dict[str, Any]:
        """``?dryRun=true``: the pipeline's verdict, nothing stored."""
        ...

    def logged(self, org_id: int, request_ids: list[str]) -> dict[str, Verdict]:
        """The verdicts already in the log of the posts to an org's webhook (the
        org's own entries and its children's, for routed events)."""
        ...


class ResultWaiters:
    """Processors resolve, from their threads, the futures that handlers await."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future[Verdict]]] = {}
        self._closed = threading.Event()

    @property
    def closed(self) -> bool:
        """The server is stopping: handlers answer with what they know, without waiting."""
        return self._closed.is_set()

    def close(self) -> None:
        self._closed.set()

    def register(self, request_id: str) -> asyncio.Future[Verdict]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Verdict] = loop.create_future()
        with self._lock:
            self._waiting[request_id] = (loop, future)
        return future

    def discard(self, request_id: str) -> None:
        with self._lock:
            self._waiting.pop(request_id, None)

    def resolve(self, outcomes: Mapping[str, Verdict]) -> None:
        with self._lock:
            found = [
                (self._waiting.pop(rid), verdict)
                for rid, verdict in outcomes.items()
                if rid in self._waiting
            ]
        for (loop, future), verdict in found:
            # RuntimeError: the waiting handler's loop is gone.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_set, future, verdict)


def _set(future: asyncio.Future[Verdict], verdict: Verdict) -> None:
    if not future.done():
        future.set_result(verdict)
