"""SIGTERM and SIGINT: the signals that ask a process to stop gracefully."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def on_stop_signal(callback: Callable[[], None], *, chain: bool) -> Iterator[None]:
    """Call ``callback`` when SIGTERM or SIGINT arrives, for the duration of the block.

    With ``chain`` the handler that was installed before (uvicorn's, which starts
    the server's own shutdown) runs after it. Signal handlers belong to the main
    thread: elsewhere (an app under test in a worker thread) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def handle(sig: int, frame: FrameType | None) -> None:
        callback()
        before = previous[sig]
        if chain and callable(before):
            before(sig, frame)

    for sig in STOP_SIGNALS:
        signal.signal(sig, handle)
    try:
        yield
    finally:
        for number, before in previous.items():
            signal.signal(number, before)
