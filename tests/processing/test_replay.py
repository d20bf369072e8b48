"""POST /v2/events/logs/replay: failed log entries run through the pipeline again, each
as a new entry with replayOf; exactly once per entry, even for concurrent replays."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from eventrail.app import EventrailApp
from eventrail.db import Database
from tests.conftest import TenantFactory
from tests.fixtures.factories import Tenant
from tests.fixtures.ingest import assert_error, running_processor
from tests.fixtures.pipeline import (
    SUCCESS,
    add_customer,
    customer_fld,
    define,
    event_name,
    fld,
    invalid_event_name,
    logs,
    make_webhook,
    mobile,
    post,
    record_of,
)

Drain = Callable[[], int]
REPLAY = "/v2/events/logs/replay"


@pytest.fixture(autouse=True)
def _empty_queue(drain: Drain) -> None:
    """Requests another test left queued must not be counted as this test's."""
    drain()


async def replay(t: Tenant, body: dict[str, Any], **params: str) -> dict[str, Any]:
    r = await t.http.post(REPLAY, json=body, params=params or None)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    assert answer["warnings"] == [] and answer["errors"] == []
    assert answer["replayed"] + answer["skipped"] == len(answer["results"])
    return answer


def skipped(entry_id: str, reason: str) -> dict[str, Any]:
    return {
        "id": entry_id,
        "outcome": "skipped",
        "replayId": None,
        "reason": reason,
        "result": None,
    }


def by_id(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in answer["results"]}


async def entries(t: Tenant) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in await logs(t)}


async def failed_post(t: Tenant, drain: Drain, webhook: str, name: str, phone: str) -> str:
    """An event of a name the org has not defined (yet): INVALID_EVENT_NAME."""
    rid = await post(t, webhook, {"event_name": name, "customer": phone, "amount": 3})
    assert drain() == 1
    return rid


async def test_replay_after_the_definition_is_fixed_succeeds(tenant: Tenant, drain: Drain) -> None:
    webhook = await make_webhook(tenant)
    phone = mobile()
    customer = await add_customer(tenant, value=phone)
    name = event_name()
    original = await failed_post(tenant, drain, webhook, name, phone)
    before = (await entries(tenant))[original]
    assert before["status"] == "INVALID_EVENT_NAME"

    # Still undefined: the replay fails the same way, as a new entry.
    answer = await replay(tenant, {"ids": [original]})
    assert answer["replayed"] == 1
    first = answer["results"][0]
    assert first["outcome"] == "replayed" and first["id"] == original
    assert drain() == 1
    log = await entries(tenant)
    assert log[first["replayId"]]["status"] == "INVALID_EVENT_NAME"
    assert log[first["replayId"]]["replayOf"] == original

    await define(tenant, name, [customer_fld(), fld("amount", "double")])
    answer = await replay(tenant, {"ids": [original]})
    second = answer["results"][0]
    assert second["outcome"] == "replayed", answer
    assert drain() == 1
    log = await entries(tenant)
    again = log[second["replayId"]]
    assert (again["status"], again["message"]) == ("EVENT_SUCCESS", SUCCESS)
    assert again["replayOf"] == original
    assert again["inputRequest"] == before["inputRequest"]
    assert log[original] == before, "the original entry is never changed"
    assert "replayOf" not in log[original]
    record = await record_of(tenant, second["replayId"])
    assert record["userId"] == customer

    # Fixed now: a third replay is not run.
    answer = await replay(tenant, {"ids": [original]})
    assert answer["results"] == [skipped(original, "already_succeeded")]
    assert drain() == 0


async def test_ids_of_another_org_unknown_ids_and_successes_are_skipped(
    make_tenant: TenantFactory, drain: Drain, db: Database
) -> None:
    mine, theirs = await make_tenant(), await make_tenant()
    name = event_name()
    await define(mine, name, [customer_fld(), fld("amount", "double")])
    my_hook, their_hook = await make_webhook(mine), await make_webhook(theirs)
    phone = mobile()
    await add_customer(mine, value=phone)
    succeeded = await post(mine, my_hook, {"event_name": name, "customer": phone, "amount": 1})
    assert drain() == 1
    theirs_failed = await failed_post(theirs, drain, their_hook, event_name(), mobile())
    unknown = "00000000-0000-4000-8000-000000000000"
    their_log = await entries(theirs)

    answer = await replay(mine, {"ids": [theirs_failed, succeeded, unknown, succeeded]})
    assert answer["replayed"] == 0
    assert answer["results"] == [
        skipped(theirs_failed, "not_found"),
        skipped(succeeded, "not_a_failure"),
        skipped(unknown, "not_found"),
    ]
    assert drain() == 0
    assert await entries(theirs) == their_log
    with db.transaction(write=False) as session:
        replays = session.execute(
            sa.text("SELECT count(*) FROM event_replays WHERE original_id = :id"),
            {"id": theirs_failed},
        ).scalar_one()
    assert replays == 0


async def test_a_filter_matching_5000_entries_replays_the_limit(
    tenant: Tenant, drain: Drain
) -> None:
    webhook = await make_webhook(tenant)
    name = event_name()
    for _ in range(5):
        events = [{"event_name": name, "customer": "1", "n": i} for i in range(1000)]
        r = await tenant.http.post(f"/webhooks/{webhook}/batch", json={"events": events})
        assert r.status_code == 200, r.text
    assert drain() == 5000

    answer = await replay(
        tenant, {"event_name": name, "status": "INVALID_EVENT_NAME", "limit": 1000}
    )
    assert answer["replayed"] == 1000 and answer["skipped"] == 0
    first = {r["id"] for r in answer["results"]}
    # The next call takes the next 1000: those of the first are being replayed.
    answer = await replay(tenant, {"event_name": name, "limit": 1000})
    assert answer["replayed"] == 1000
    assert not first & {r["id"] for r in answer["results"]}
    assert drain() == 2000
    replays = [e for e in await logs(tenant, event_name=name, limit=1000) if "replayOf" in e]
    assert replays and all(
        e["replayOf"] in first | {r["id"] for r in answer["results"]} for e in replays
    )


async def test_two_concurrent_replays_of_the_same_ids_replay_each_once(
    tenant: Tenant, drain: Drain
) -> None:
    webhook = await make_webhook(tenant)
    name = event_name()
    events = [{"event_name": name, "customer": "1", "n": i} for i in range(200)]
    r = await tenant.http.post(f"/webhooks/{webhook}/batch", json={"events": events})
    ids = r.json()["requestIds"]
    assert drain() == 200

    first, second = await asyncio.gather(
        replay(tenant, {"ids": ids}), replay(tenant, {"ids": list(reversed(ids))})
    )
    replayed = [
        r["id"] for a in (first, second) for r in a["results"] if r["outcome"] == "replayed"
    ]
    assert sorted(replayed) == sorted(ids), "each id replayed by exactly one of the two"
    skipped = [r for a in (first, second) for r in a["results"] if r["outcome"] == "skipped"]
    assert len(skipped) == 200 and {r["reason"] for r in skipped} == {"in_progress"}
    assert drain() == 200
    log = await logs(tenant, event_name=name, limit=1000)
    replays = [e["replayOf"] for e in log if "replayOf" in e]
    assert sorted(replays) == sorted(ids), "exactly one new entry per id"


def test_the_database_refuses_a_second_live_replay(db: Database) -> None:
    row = {
        "org_id": 1,
        "original_id": "orig-live",
        "state": "pending",
        "requested_by": "till:1",
        "requested_at": 1,
        "call_id": "c",
    }
    insert = sa.text(
        "INSERT INTO event_replays (id, org_id, original_id, state, requested_by, "
        "requested_at, call_id) VALUES (:id, :org_id, :original_id, :state, :requested_by, "
        ":requested_at, :call_id)"
    )
    with db.transaction() as session:
        session.execute(sa.text("DELETE FROM event_replays WHERE original_id = 'orig-live'"))
        session.execute(insert, {**row, "id": "r1", "state": "failed"})
        session.execute(insert, {**row, "id": "r2", "state": "failed"})
        session.execute(insert, {**row, "id": "r3"})
    for state in ("pending", "succeeded"):
        with pytest.raises(IntegrityError), db.transaction() as session:
            session.execute(insert, {**row, "id": f"r4{state}", "state": state})


async def test_a_unique_key_event_replayed_stays_a_duplicate(tenant: Tenant, drain: Drain) -> None:
    webhook = await make_webhook(tenant, uniqueness=True)
    name = event_name()
    await define(
        tenant,
        name,
        [customer_fld(), fld("amount", "double"), fld("visitId", "string", isUniqueKeyField=True)],
    )
    phone = mobile()
    await add_customer(tenant, value=phone)
    body = {"event_name": name, "customer": phone, "visitId": "V-1"}
    went_through = await post(tenant, webhook, {**body, "amount": 1})
    failed = await post(tenant, webhook, {**body, "amount": "abc"})
    assert drain() == 2
    log = await entries(tenant)
    assert log[went_through]["status"] == "EVENT_SUCCESS"
    assert log[failed]["status"] == "EVENT_FIELD_VALIDATION_FAILED"
    assert (await record_of(tenant, went_through))["additonalAttributes"]["isDuplicate"] is False

    # Fixing the sender means a new definition: amount may now be any string.
    r = await tenant.http.put(
        "/v2/events",
        json={
            "eventName": name,
            "actions": ["EIConsumer"],
            "fields": [
                customer_fld(),
                fld("amount", "string"),
                fld("visitId", "string", isUniqueKeyField=True),
            ],
        },
    )
    assert r.status_code == 200, r.text
    answer = await replay(tenant, {"ids": [failed, went_through]})
    outcomes = by_id(answer)
    assert outcomes[went_through]["reason"] == "not_a_failure"
    assert drain() == 1
    replay_id = outcomes[failed]["replayId"]
    assert (await entries(tenant))[replay_id]["status"] == "EVENT_SUCCESS"
    record = await record_of(tenant, replay_id)
    assert record["additonalAttributes"]["isDuplicate"] is True
    assert record["uniqueId"] == (await record_of(tenant, went_through))["uniqueId"]


async def test_wait_answers_the_verdicts_and_the_replay_is_recorded(
    tenant: Tenant, app: EventrailApp, drain: Drain, db: Database
) -> None:
    webhook = await make_webhook(tenant)
    name = event_name()
    original = await failed_post(tenant, drain, webhook, name, mobile())
    with running_processor(app):
        r = await tenant.http.post(REPLAY, json={"ids": [original]}, params={"wait": "true"})
    assert r.status_code == 200, r.text
    [result] = r.json()["results"]
    assert result["result"] == {"status": "INVALID_EVENT_NAME", "message": invalid_event_name(name)}
    with db.transaction(write=False) as session:
        row = session.execute(
            sa.text(
                "SELECT id, org_id, state, requested_by, call_id, requested_at "
                "FROM event_replays WHERE original_id = :id"
            ),
            {"id": original},
        ).one()
    assert row[0] == result["replayId"]
    assert row[1] == tenant.org_id
    assert row[2] == "failed"
    assert row[3] == f"till:{tenant.till_id}"
    assert row[4] == r.headers["x-cap-requestid"]
    assert row[5] > 0


async def test_a_pending_replay_is_not_replayed_again(tenant: Tenant, drain: Drain) -> None:
    webhook = await make_webhook(tenant)
    original = await failed_post(tenant, drain, webhook, event_name(), mobile())
    first = await replay(tenant, {"ids": [original]})
    again = await replay(tenant, {"ids": [original]})
    assert first["replayed"] == 1
    assert again["results"] == [skipped(original, "in_progress")]
    # A replay entry is not replayed itself.
    assert drain() == 1
    replay_id = first["results"][0]["replayId"]
    answer = await replay(tenant, {"ids": [replay_id]})
    assert answer["results"][0]["reason"] == "is_a_replay"


@pytest.mark.parametrize(
    ("body", "params", "names"),
    [
        ({"ids": "abc"}, {}, "ids"),
        ({"ids": []}, {}, "ids"),
        ({"ids": [f"id-{i}" for i in range(1001)]}, {}, "ids"),
        ({"ids": ["x" * 65]}, {}, "ids[0]"),
        ({"ids": ["a"], "status": "INVALID_EVENT_NAME"}, {}, "'status'"),
        ({"status": "EVENT_SUCCESS"}, {}, "status"),
        ({"status": "NOPE"}, {}, "status"),
        ({"from_date": "yesterday"}, {}, "from_date"),
        ({"from_date": "2024-02-01", "to_date": "2024-01-01"}, {}, "from_date"),
        ({"limit": 0}, {}, "limit"),
        ({"limit": 1001}, {}, "limit"),
        ({"limit": "many"}, {}, "limit"),
        ({"webhookId": "nope"}, {}, "webhookId"),
        ({"stauts": "INVALID_EVENT_NAME"}, {}, "stauts"),
        ({"ids": ["a"]}, {"wait": "maybe"}, "wait"),
        ([1, 2], {}, "body"),
    ],
)
async def test_bad_input_is_a_400_naming_the_parameter(
    tenant: Tenant, body: Any, params: dict[str, str], names: str
) -> None:
    r = await tenant.http.post(REPLAY, json=body, params=params)
    assert_error(r, 400, 400, names)


async def test_a_body_that_is_not_json_is_a_400(tenant: Tenant) -> None:
    r = await tenant.http.post(
        REPLAY, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(r, 400, 400, "JSON")


async def test_replays_are_rate_limited_like_other_writes(tenant: Tenant) -> None:
    r = await tenant.http.put("/v2/orgs/settings", json={"rateLimitPerMinute": 2})
    assert r.status_code == 200, r.text
    unknown = {"ids": ["00000000-0000-4000-8000-000000000001"]}
    for remaining in (1, 0):
        r = await tenant.http.post(REPLAY, json=unknown)
        assert r.status_code == 200, r.text
        assert r.headers["x-ratelimit-remaining"] == str(remaining)
    r = await tenant.http.post(REPLAY, json=unknown)
    assert_error(r, 429, 429, "Rate limit exceeded")
    assert (await tenant.http.get(SUMMARY, params=DAY)).status_code == 200  # its own budget


SUMMARY = "/v2/events/logs/summary"
DAY = {"from_date": "2026-01-01", "to_date": "2026-01-01"}


async def test_a_replay_that_is_set_aside_is_recorded_as_failed(
    tenant: Tenant, drain: Drain, db: Database
) -> None:
    """A replay whose processing raises is logged EVENT_PROCESSING_FAILED (replayOf kept)
    and leaves its original replayable."""
    webhook = await make_webhook(tenant)
    name = event_name()
    phone = mobile()
    await add_customer(tenant, value=phone)
    original = await failed_post(tenant, drain, webhook, name, phone)
    await define(tenant, name, [customer_fld(), fld("amount", "double")])
    # A definition broken outside the API: its events are set aside.
    with db.transaction() as session:
        session.execute(
            sa.text(
                "UPDATE event_definitions SET fields = '[{\"type\": 7}]' WHERE event_name = :n"
            ),
            {"n": name},
        )
    answer = await replay(tenant, {"ids": [original]})
    assert drain() == 1
    entry = (await entries(tenant))[answer["results"][0]["replayId"]]
    assert entry["status"] == "EVENT_PROCESSING_FAILED"
    assert entry["replayOf"] == original
    again = await replay(tenant, {"ids": [original]})
    assert again["results"][0]["outcome"] == "replayed"
    assert drain() == 1
