"""The CPU cost of the access line: N requests in-process through the ASGI app,
with and without kit/accesslog.py around it, each format written to /dev/null.

    .venv/bin/python -m bench.accesslog [--requests 20000] [--rounds 5]

Two requests are timed: ``GET /health`` (FastAPI) and an unauthenticated
``GET /v2/events/logs`` (the fast lane, answered 401). No server, no socket:
what is left is the app's own CPU per request, so the difference is the
middleware plus the formatter and the handler's write.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging.config
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from eventrail.app import create_app
from eventrail.config import Settings
from eventrail.db import migrate
from eventrail.kit.logsafe import log_config

ROUTES = (("/health", 200), ("/v2/events/logs", 401))


def _configure(log_format: str) -> None:
    config = log_config("info", log_format)
    for handler in config["handlers"].values():
        handler.pop("stream", None)
        handler["class"] = "logging.FileHandler"
        handler["filename"] = "/dev/null"
    logging.config.dictConfig(config)


async def _run(app: Any, path: str, expected: int, n: int) -> float:
    scope_base = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(n):
        await app(dict(scope_base), receive, send)
    spent = time.process_time() - started
    assert set(statuses) == {expected}, set(statuses)
    return spent / n * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            data_dir=Path(tmp),
            secret_key="b" * 40,
            processor_threads=0,
        )
        migrate(settings)
        app = create_app(settings)
        without = app._outer.app  # type: ignore[attr-defined]  # the lanes, unwrapped
        variants = {
            "no access line": ("text", without),
            "text": ("text", app),
            "json": ("json", app),
        }
        for path, expected in ROUTES:
            await _run(app, path, expected, 500)  # warm up: caches, imports
        # as the server's lifespan does (app.py): the collector no longer walks
        # everything made while starting
        gc.collect()
        gc.freeze()
        results: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):  # interleaved, so that all see the same machine
            for name, (log_format, target) in variants.items():
                _configure(log_format)
                for path, expected in ROUTES:
                    cost = await _run(target, path, expected, args.requests)
                    results.setdefault((name, path), []).append(cost)
        app.state.reads.close()
        app.state.db.dispose()
    print(f"CPU µs per request, median of {args.rounds} rounds of {args.requests} requests")
    for path, _ in ROUTES:
        base = statistics.median(results[("no access line", path)])
        cells = []
        for name in variants:
            cost = statistics.median(results[(name, path)])
            cells.append(f"{name} {cost:.1f}" + ("" if cost == base else f" (+{cost - base:.1f})"))
        print(f"  {path}: " + ", ".join(cells))


if __name__ == "__main__":
    asyncio.run(main())
