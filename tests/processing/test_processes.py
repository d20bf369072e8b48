"""`eventrail serve --no-processors` only accepts; `eventrail process` only processes.

Real processes on one database: what the server acknowledges stays queued until
a processor process takes it, is then processed exactly once, and a client
asking ``?wait=true`` of a server without processors still gets its verdict
(the server finds it in the log, written by the other process).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.durability import check_exactly_once
from tests.fixtures.processes import Load, queued, visit, wait_for
from tests.fixtures.server import EVENTRAIL, cli_env, processor_process, server_process
from tests.security.cluster import engine_for, make_webhook, migrate_and_make_till

ONLY_HTTP = ("--no-processors",)


def test_one_server_without_processors_and_one_process_on_sqlite(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/split.db", tmp_path)
    auth, till = migrate_and_make_till(env)
    engine = engine_for(env)
    try:
        with server_process(env, args=ONLY_HTTP) as server:
            webhook_id = make_webhook(server.base, auth, till, unique=False)
            ready = httpx.get(f"{server.base}/ready", timeout=30).json()
            assert ready["checks"]["processors"] == "none in this process"
            # Nothing processes in the server: what it acknowledges stays queued.
            load = Load([server.base], webhook_id, clients=8)
            asyncio.run(load.run(limit=120))
            assert len(load.acked) == 120, load.statuses
            with pytest.raises(AssertionError):
                wait_for(lambda: queued(engine) == 0, 2.0, "a processor that should not exist")
            assert queued(engine) == 120

            with processor_process(env, threads=2) as processor:
                wait_for(lambda: queued(engine) == 0, 60, "the processor process")
                # ?wait=true on the server without processors: the verdict comes from
                # the log the processor process writes.
                waiting = Load([server.base], webhook_id, clients=4, wait_every=1)
                asyncio.run(waiting.run(limit=8))
                assert len(waiting.verdicts) == 8, waiting.statuses
                for result in waiting.verdicts.values():
                    assert result == {
                        "status": "EVENT_SUCCESS",
                        "message": "Event processed successfully",
                    }
                # Without processors of its own the server looks in the log early (from
                # 20 ms, doubling to 0.5 s), not only every 0.5 s.
                answered = []
                with httpx.Client(base_url=server.base, timeout=60) as client:
                    for n in range(6):
                        body = visit(900 + n)
                        started = time.monotonic()
                        r = client.post(
                            f"/webhooks/{webhook_id}", params={"wait": "true"}, json=body
                        )
                        answered.append(time.monotonic() - started)
                        assert r.json()["result"]["status"] == "EVENT_SUCCESS", r.text
                        waiting.acked[r.json()["requestId"]] = body
                assert min(answered) < 0.45, answered
                code, _ = processor.terminate()
            assert code == 0, processor.output()
        check_exactly_once(engine, {**load.acked, **waiting.acked})
    finally:
        engine.dispose()


def test_processor_threads_zero_setting_is_the_same_as_no_processors(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/zero.db", tmp_path, EVENTRAIL_PROCESSOR_THREADS="0")
    auth, till = migrate_and_make_till(env)
    engine = engine_for(env)
    try:
        with server_process(env) as server:
            webhook_id = make_webhook(server.base, auth, till, unique=False)
            load = Load([server.base], webhook_id, clients=4)
            asyncio.run(load.run(limit=20))
            assert len(load.acked) == 20
            ready = httpx.get(f"{server.base}/ready", timeout=30).json()
            assert ready["checks"]["processors"] == "none in this process"
            assert queued(engine) == 20
            # `process` with the same environment still runs (at least one thread).
            with processor_process(env):
                wait_for(lambda: queued(engine) == 0, 60, "the processor process")
        check_exactly_once(engine, load.acked)
    finally:
        engine.dispose()


def _run(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    import subprocess

    done = subprocess.run([EVENTRAIL, *args], env=env, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


def test_process_refuses_an_unmigrated_database_and_bad_threads(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/empty.db", tmp_path)
    code, out, err = _run(["process"], env)
    assert code == 1
    [line] = err.strip().splitlines()
    assert line.startswith("eventrail: ") and line.endswith("run `eventrail migrate`"), line
    code, out, _ = _run(["process", "--json"], env)
    assert code == 1 and "migrate" in json.loads(out)["error"]
    for bad in ("0", "17", "two"):
        code, _, err = _run(["process", "--threads", bad], env)
        assert code == 2
        assert "argument --threads: must be a whole number from 1 to 16" in err
        assert "Traceback" not in err
