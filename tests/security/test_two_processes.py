"""Two `eventrail serve` processes on one PostgreSQL, racing for the same identifier
or the same event unique key.

Each round releases two requests at once (a barrier), one to each server, over
kept-alive connections, so that both pass the application's own "is it taken?"
check before either commits: the database constraint decides. Exactly one
wins; the other gets Capillary's answer for an identifier in use (400, 8006),
never a 500, and never leaves a second owner, a half-registered customer or an
audit entry behind.

The last test mixes the layouts instead: two servers that only accept and two
`eventrail process` processors, one of them killed in the middle of a batch.
"""

from __future__ import annotations

import asyncio
import hashlib
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import _require_postgres
from tests.customers.helpers import assert_error
from tests.fixtures.databases import postgres_database
from tests.fixtures.durability import check_exactly_once
from tests.fixtures.processes import Load, queued, wait_for
from tests.fixtures.server import cli_env, processor_process, running_server
from tests.security.cluster import engine_for, make_webhook, migrate_and_make_till

ROUNDS = 40
Call = Callable[[httpx.Client], httpx.Response]


@dataclass
class Cluster:
    clients: tuple[httpx.Client, httpx.Client]  # one per server, authenticated
    engine: sa.Engine
    webhook_id: str
    pool: ThreadPoolExecutor

    def race(self, round_: int, first: Call, second: Call) -> tuple[httpx.Response, ...]:
        """Both calls released together, each to its own server (alternating which)."""
        barrier = threading.Barrier(2)
        clients = self.clients if round_ % 2 == 0 else self.clients[::-1]

        def go(client: httpx.Client, call: Call) -> httpx.Response:
            barrier.wait(timeout=30)
            return call(client)

        futures = [
            self.pool.submit(go, c, call) for c, call in zip(clients, (first, second), strict=True)
        ]
        return tuple(f.result(timeout=60) for f in futures)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar_one()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    _require_postgres()
    with postgres_database("eventrail_race") as url:
        env = cli_env(url, tmp_path_factory.mktemp("race"))
        auth, till_code = migrate_and_make_till(env)
        engine = engine_for(env)
        with (
            running_server(env) as first,
            running_server(env) as second,
            httpx.Client(base_url=first, headers=auth, timeout=60) as a,
            httpx.Client(base_url=second, headers=auth, timeout=60) as b,
            ThreadPoolExecutor(2) as pool,
        ):
            webhook_id = make_webhook(first, auth, till_code, unique=True)
            try:
                yield Cluster((a, b), engine, webhook_id, pool)
            finally:
                engine.dispose()


def _mobile() -> str:
    return "94" + str(uuid.uuid4().int)[:10]


def _email() -> str:
    return f"r{uuid.uuid4().hex[:12]}@example.com"


def _add(*identifiers: tuple[str, str]) -> Call:
    body = {
        "profiles": [
            {"firstName": "Racer", "identifiers": [{"type": t, "value": v} for t, v in identifiers]}
        ]
    }
    return lambda client: client.post("/v2/customers", json=body)


def _change(customer_id: int, type_: str, value: str) -> Call:
    body = {"add": [{"type": type_, "value": value}]}
    return lambda client: client.post(f"/v2/customers/{customer_id}/changeIdentifier", json=body)


def _one_wins(responses: tuple[httpx.Response, ...]) -> tuple[int, httpx.Response, str]:
    """(index of the winner, the loser's response, the loser's error message)."""
    statuses = [r.status_code for r in responses]
    assert sorted(statuses) == [200, 400], [r.text for r in responses]
    won = statuses.index(200)
    loser = responses[1 - won]
    error = assert_error(loser, 400, 8006)
    return won, loser, str(error["message"])


def _owner(cluster: Cluster, type_: str, value: str) -> int:
    """The one customer holding this identifier (there must be exactly one)."""
    with cluster.engine.connect() as conn:
        owners = (
            conn.execute(
                sa.text(
                    "SELECT customer_id FROM customer_identifiers WHERE type = :t AND value = :v"
                ),
                {"t": type_, "v": value},
            )
            .scalars()
            .all()
        )
    assert len(owners) == 1, f"{type_} {value} held by {owners}"
    return int(owners[0])


def _audits_of(cluster: Cluster, response: httpx.Response) -> int:
    rid = response.headers["x-cap-requestid"]
    return int(cluster.scalar("SELECT count(*) FROM audit_entries WHERE request_id = :r", r=rid))


def _assert_no_duplicates_or_orphans(cluster: Cluster) -> None:
    duplicates = cluster.scalar(
        "SELECT count(*) FROM (SELECT 1 FROM customer_identifiers "
        "GROUP BY org_id, source, account_id, type, value HAVING count(*) > 1) d"
    )
    assert duplicates == 0
    bare = cluster.scalar(
        "SELECT count(*) FROM customers c WHERE NOT EXISTS "
        "(SELECT 1 FROM customer_identifiers i WHERE i.customer_id = c.id)"
    )
    assert bare == 0, "a refused registration left a customer behind"
    unaudited = cluster.scalar(
        "SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM audit_entries a "
        "WHERE a.entity_type = 'CUSTOMER' AND a.entity_id = c.id)"
    )
    assert unaudited == 0


def _customer(cluster: Cluster, *identifiers: tuple[str, str]) -> int:
    r = _add(*identifiers)(cluster.clients[0])
    assert r.status_code == 200, r.text
    customer_id: int = r.json()["createdId"]
    return customer_id


def _identifiers(cluster: Cluster, customer_id: int) -> dict[str, str]:
    r = cluster.clients[1].get(f"/v2/customers/{customer_id}")
    assert r.status_code == 200, r.text
    return {i["type"]: i["value"] for i in r.json()["profiles"][0]["identifiers"]}


def test_two_registrations_of_one_identifier_at_once_one_wins(cluster: Cluster) -> None:
    before = cluster.scalar("SELECT coalesce(max(id), 0) - count(*) FROM customers")
    for n in range(ROUNDS):
        mobile, email = _mobile(), _email()
        if n % 2 == 0:
            first, second = _add(("mobile", mobile)), _add(("mobile", mobile))
        else:
            # Two identifiers in opposite orders: the two transactions must not
            # deadlock on each other's index entries.
            first = _add(("mobile", mobile), ("email", email))
            second = _add(("email", email), ("mobile", mobile))
        responses = cluster.race(n, first, second)
        won, loser, message = _one_wins(responses)
        winner_id = responses[won].json()["createdId"]
        assert message == f"Add failed, Customer already exists with id {winner_id} for same source"
        assert _owner(cluster, "mobile", mobile) == winner_id
        if n % 2:
            assert _owner(cluster, "email", email) == winner_id
        assert _audits_of(cluster, responses[won]) == 1
        assert _audits_of(cluster, loser) == 0
    _assert_no_duplicates_or_orphans(cluster)
    # A customer id is used up by a registration that inserted its customer and
    # was then refused by the identifier's unique constraint: the proof that the
    # rounds raced past the application's own check, to the database.
    raced = cluster.scalar("SELECT coalesce(max(id), 0) - count(*) FROM customers") - before
    assert raced >= 1, "no round raced: the test did not exercise the constraint"


def test_two_customers_taking_one_email_at_once_one_wins(cluster: Cluster) -> None:
    ids = [_customer(cluster, ("mobile", _mobile()), ("email", _email())) for _ in range(2)]
    for n in range(ROUNDS):
        before = [_identifiers(cluster, i) for i in ids]
        email = _email()
        responses = cluster.race(
            n, _change(ids[0], "email", email), _change(ids[1], "email", email)
        )
        won, loser, message = _one_wins(responses)
        winner, other = ids[won], ids[1 - won]
        assert message == f"Update failed, Customer already exists with id {winner} for same source"
        assert _owner(cluster, "email", email) == winner
        after = [_identifiers(cluster, i) for i in ids]
        assert after[won] == {**before[won], "email": email}
        assert after[1 - won] == before[1 - won], f"customer {other} changed by a refused write"
        assert _audits_of(cluster, responses[won]) == 1
        assert _audits_of(cluster, loser) == 0
    _assert_no_duplicates_or_orphans(cluster)


def test_registration_and_change_racing_for_one_mobile_one_wins(cluster: Cluster) -> None:
    existing = _customer(cluster, ("mobile", _mobile()))
    for n in range(ROUNDS):
        previous = _identifiers(cluster, existing)["mobile"]
        mobile = _mobile()
        responses = cluster.race(n, _add(("mobile", mobile)), _change(existing, "mobile", mobile))
        won, loser, message = _one_wins(responses)
        if won == 0:
            created = responses[0].json()["createdId"]
            assert message == (
                f"Update failed, Customer already exists with id {created} for same source"
            )
            assert _owner(cluster, "mobile", mobile) == created
            assert _identifiers(cluster, existing)["mobile"] == previous
        else:
            assert message == (
                f"Add failed, Customer already exists with id {existing} for same source"
            )
            assert _owner(cluster, "mobile", mobile) == existing
            # The old mobile was replaced, not kept beside the new one.
            held = "SELECT count(*) FROM customer_identifiers WHERE value = :v"
            assert cluster.scalar(held, v=previous) == 0
        assert _audits_of(cluster, responses[won]) == 1
        assert _audits_of(cluster, loser) == 0
    _assert_no_duplicates_or_orphans(cluster)


def _unique_id(mobile: str, ref: str) -> str:
    return hashlib.md5(f"Visit_{mobile}_{ref}".encode()).hexdigest().upper()


def test_one_unique_key_posted_to_both_servers_at_once_is_processed_once(
    cluster: Cluster,
) -> None:
    """Both processes' processors handle their copy of the key at the same moment:
    one original, one duplicate, both EVENT_SUCCESS, one customer registered."""
    url = f"/webhooks/{cluster.webhook_id}"
    for n in range(ROUNDS):
        mobile, ref = _mobile(), uuid.uuid4().hex
        body = {"event_name": "Visit", "customer": mobile, "ref": ref}

        def post(client: httpx.Client, body: dict[str, Any] = body) -> httpx.Response:
            return client.post(url, params={"wait": "true"}, json=body)

        responses = cluster.race(n, post, post)
        assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
        for r in responses:
            assert r.json()["result"]["status"] == "EVENT_SUCCESS", r.text
        rids = [r.json()["requestId"] for r in responses]
        records = []
        for rid in rids:
            r = cluster.clients[n % 2].get("/v2/events/event_data", params={"id": rid})
            assert r.status_code == 200, r.text
            [record] = r.json()["data"]
            records.append(record["additonalAttributes"])
        assert sorted(a["isDuplicate"] for a in records) == [False, True]
        assert {a["uniqueId"] for a in records} == {_unique_id(mobile, ref)}
        # The customer both events name was registered once, by one of them.
        customer = _owner(cluster, "mobile", mobile)
        assert {a["customerId"] for a in records} == {str(customer)}
        audits = cluster.scalar(
            "SELECT count(*) FROM audit_entries WHERE entity_type = 'CUSTOMER' AND entity_id = :c",
            c=customer,
        )
        assert audits == 1
    with cluster.engine.connect() as conn:
        logs = conn.execute(
            sa.text("SELECT status, message, count(*) FROM event_logs GROUP BY status, message")
        ).all()
        keys = conn.execute(sa.text("SELECT count(*) FROM event_unique_keys")).scalar_one()
    assert [tuple(row) for row in logs] == [
        ("EVENT_SUCCESS", "Event processed successfully", 2 * ROUNDS)
    ]
    assert keys == ROUNDS


def _in_a_batch(engine: sa.Engine, application: str) -> bool:
    """Whether a backend of this application is inside a processing transaction
    that has claimed rows (a transaction id is assigned by FOR UPDATE)."""
    with engine.connect() as conn:
        found = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :a "
                "AND backend_xid IS NOT NULL"
            ),
            {"a": application},
        ).scalar_one()
    return bool(found)


def test_two_accepting_servers_and_two_processor_processes_one_killed_mid_batch(
    tmp_path: Path,
) -> None:
    """Any mix of servers and processors on one PostgreSQL: two `serve
    --no-processors` and two `eventrail process`, one of which is killed with
    SIGKILL while it holds a claimed batch. Its transaction dies with it; the
    other processor takes those requests again: every acknowledged event is
    processed exactly once."""
    _require_postgres()
    with postgres_database("eventrail_split") as url:
        env = cli_env(url, tmp_path, EVENTRAIL_PROCESSOR_BATCH_SIZE="200")
        auth, till_code = migrate_and_make_till(env)
        engine = engine_for(env)
        killed_env = {**env, "EVENTRAIL_DATABASE_URL": f"{url}?application_name=doomed"}
        try:
            with (
                running_server(env, args=["--no-processors"]) as first,
                running_server(env, args=["--no-processors"]) as second,
                processor_process(env, name="survivor") as survivor,
                processor_process(killed_env, name="doomed") as doomed,
            ):
                webhook_id = make_webhook(first, auth, till_code, unique=False)
                load = Load([first, second], webhook_id, clients=24)

                async def kill_mid_batch(load: Load) -> None:
                    while len(load.acked) < 300:
                        await asyncio.sleep(0.01)
                    while not await asyncio.to_thread(_in_a_batch, engine, "doomed"):
                        await asyncio.sleep(0)
                    doomed.kill()

                asyncio.run(load.run(limit=2000, during=kill_mid_batch))
                assert len(load.acked) == 2000, load.statuses
                assert doomed.process.returncode == -signal.SIGKILL
                wait_for(lambda: queued(engine) == 0, 120, "the surviving processor")
                assert survivor.process.poll() is None
                logged = "SELECT count(*) FROM event_logs"
                with engine.connect() as conn:
                    assert conn.execute(sa.text(logged)).scalar_one() == 2000
            check_exactly_once(engine, load.acked)
        finally:
            engine.dispose()
