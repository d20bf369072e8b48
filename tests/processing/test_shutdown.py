"""SIGTERM to a real `eventrail serve` or `eventrail process` under load.

The server stops accepting, answers what is in flight (a ``?wait=true`` post
answers at once, with its verdict if known), writes what it acknowledged, lets
its processors finish their batch, and exits 0 within SHUTDOWN_BOUND seconds.
A client sees 200s, then refused connections: never a 5xx. After a restart,
every event acknowledged with 200 is processed exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from tests.fixtures.durability import check_exactly_once
from tests.fixtures.processes import Load, queued, stored, visit, wait_for
from tests.fixtures.server import cli_env, processor_process, running_server, server_process
from tests.security.cluster import engine_for, make_webhook, migrate_and_make_till

# docs/deploy.md, "Stopping": in-flight requests 10 s, the group commit 5 s, the
# processors' batches 10 s, and the process's own exit.
SHUTDOWN_BOUND = 30.0
PROCESS_BOUND = 15.0  # `eventrail process`: the batches' 10 s and the exit


def test_sigterm_to_serve_under_load_answers_commits_and_exits_zero(
    env: dict[str, str],
) -> None:
    auth, till = migrate_and_make_till(env)
    engine = engine_for(env)
    try:
        with server_process(env) as server:
            webhook_id = make_webhook(server.base, auth, till, unique=False)
            # Every 10th post waits for its verdict: those must be answered too.
            load = Load([server.base], webhook_id, clients=24, wait_every=10)
            outcome: dict[str, float] = {}

            async def stop_under_load(load: Load) -> None:
                while len(load.acked) < 200:
                    await asyncio.sleep(0.01)
                acked_before = len(load.acked)
                code, seconds = await asyncio.to_thread(server.terminate)
                outcome.update(code=code, seconds=seconds, acked_before=acked_before)
                load.stopping = True

            asyncio.run(load.run(during=stop_under_load))
            log = server.output()
        assert outcome["code"] == 0, log
        assert outcome["seconds"] < SHUTDOWN_BOUND, log
        # Posts in flight when the signal came were answered, not dropped.
        assert len(load.acked) > outcome["acked_before"]
        assert set(load.statuses) == {200}, load.statuses
        assert load.verdicts, "no ?wait=true post was answered"
        acked = set(load.acked)
        assert stored(engine, acked) == acked, "an acknowledged event is not in the database"
        # Restarted: what was still queued is processed, everything exactly once.
        with running_server(env):
            wait_for(lambda: queued(engine) == 0, 120, "the restarted server's processors")
        check_exactly_once(engine, load.acked)
    finally:
        engine.dispose()


def _claimed(engine: sa.Engine) -> bool:
    """Whether a processing transaction holds claimed rows (PostgreSQL), or, on
    SQLite, whether anything waits in the queue."""
    if engine.dialect.name != "postgresql":
        return queued(engine) > 0
    with engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'stopping' "
                    "AND backend_xid IS NOT NULL"
                )
            ).scalar_one()
        )


def test_sigterm_to_process_mid_batch_finishes_it_and_exits_zero(env: dict[str, str]) -> None:
    auth, till = migrate_and_make_till(env)
    engine = engine_for(env)
    url = env["EVENTRAIL_DATABASE_URL"]
    processor_env = dict(env)
    if url.startswith("postgresql"):
        processor_env["EVENTRAIL_DATABASE_URL"] = f"{url}?application_name=stopping"
    try:
        with server_process(env, args=["--no-processors"]) as server:
            webhook_id = make_webhook(server.base, auth, till, unique=False)
            with processor_process(processor_env, threads=2) as processor:
                load = Load([server.base], webhook_id, clients=16)
                outcome: dict[str, float] = {}

                async def stop_mid_batch(load: Load) -> None:
                    while len(load.acked) < 300:
                        await asyncio.sleep(0.01)
                    while not await asyncio.to_thread(_claimed, engine):
                        await asyncio.sleep(0)
                    code, seconds = await asyncio.to_thread(processor.terminate)
                    outcome.update(code=code, seconds=seconds)
                    load.stopping = True

                asyncio.run(load.run(during=stop_mid_batch))
                log = processor.output()
            assert outcome["code"] == 0, log
            assert outcome["seconds"] < PROCESS_BOUND, log
            assert "processors stopped" in log
            assert set(load.statuses) == {200}, load.statuses
            # Nothing holds a claim after the exit: a new processor takes the rest.
            with processor_process(env):
                wait_for(lambda: queued(engine) == 0, 120, "a new processor process")
        check_exactly_once(engine, load.acked)
    finally:
        engine.dispose()


def test_sigterm_answers_a_post_waiting_for_its_verdict_at_once(tmp_path: Path) -> None:
    """A server without processors, and none running: a ``?wait=true`` post would
    wait its full 30 s, past the 10 s the server gives requests in flight, and be
    cut off without an answer. On SIGTERM it is answered at once instead:
    acknowledged, verdict not known yet."""
    env = cli_env(f"sqlite:///{tmp_path}/wait.db", tmp_path)
    auth, till = migrate_and_make_till(env)
    engine = engine_for(env)
    try:
        with server_process(env, args=["--no-processors"]) as server:
            webhook_id = make_webhook(server.base, auth, till, unique=False)

            async def post_and_stop() -> tuple[httpx.Response, tuple[int, float]]:
                async with httpx.AsyncClient(timeout=60) as client:
                    post = asyncio.create_task(
                        client.post(
                            f"{server.base}/webhooks/{webhook_id}",
                            params={"wait": "true"},
                            json=visit(1),
                        )
                    )
                    await asyncio.to_thread(wait_for, lambda: queued(engine) == 1, 30, "the post")
                    stopped = await asyncio.to_thread(server.terminate)
                    return await post, stopped

            response, (code, seconds) = asyncio.run(post_and_stop())
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["result"] == {
            "status": None,
            "message": "Not processed yet: see GET /v2/events/logs",
        }
        assert code == 0
        assert seconds < 5, "the waiting post held the shutdown"
        assert stored(engine, {answer["requestId"]}) == {answer["requestId"]}
    finally:
        engine.dispose()


def test_sigint_stops_serve_and_process_like_sigterm(tmp_path: Path) -> None:
    """Ctrl+C in a terminal: the same graceful stop, exit 0."""
    env = cli_env(f"sqlite:///{tmp_path}/int.db", tmp_path)
    migrate_and_make_till(env)
    with server_process(env) as server, processor_process(env) as processor:
        for stopping in (server, processor):
            started = time.monotonic()
            stopping.process.send_signal(signal.SIGINT)
            assert stopping.process.wait(timeout=60) == 0, stopping.output()
            assert time.monotonic() - started < PROCESS_BOUND
    assert "processors stopped" in processor.output()
    assert "Application shutdown complete" in server.output()
