"""EVENTRAIL_READ_DATABASE_URL against a real streaming replica that the test builds
(tests/fixtures/replica.py): writes and ``?wait=true`` go to the primary, the read
APIs (logs, event_data, audits, the summary, the console) read the replica, and a
request with ``X-Eventrail-Read-From: primary`` reads the primary.

To tell the two apart, the replica's replay is paused: what is written then is on
the primary only, until the replay resumes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from eventrail.config import Settings
from eventrail.db import migrate
from tests.fixtures.durability import provision
from tests.fixtures.replica import primary_and_standby
from tests.fixtures.server import cli_env, server_process

PRIMARY = {"X-Eventrail-Read-From": "primary"}
_TODAY = datetime.now(UTC).date()
WINDOW = {
    "from_date": (_TODAY - timedelta(days=2)).isoformat(),
    "to_date": (_TODAY + timedelta(days=2)).isoformat(),
}


def _post(api: httpx.Client, webhook_id: str, mobile: str, ref: str) -> None:
    r = api.post(
        f"/webhooks/{webhook_id}",
        params={"wait": "true"},
        json={"event_name": "Visit", "customer": mobile, "ref": ref},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"]["code"] == 1100, r.text


def _logs(api: httpx.Client, **headers: str) -> list[str]:
    r = api.get("/v2/events/logs", params={"limit": 100}, headers=headers)
    assert r.status_code == 200, r.text
    return [entry["id"] for entry in r.json()["data"]]


def _total(api: httpx.Client, path: str, params: dict[str, str], **headers: str) -> int:
    r = api.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    return int(body["pagination"]["totalElements"] if "pagination" in body else body["total"])


def test_reads_go_to_the_replica_writes_and_asked_reads_to_the_primary(tmp_path: Path) -> None:
    with primary_and_standby() as pair:
        settings = Settings(database_url=pair.primary.url, data_dir=tmp_path, secret_key="s" * 40)
        migrate(settings)
        env = cli_env(
            pair.primary.url,
            tmp_path,
            EVENTRAIL_READ_DATABASE_URL=pair.standby.url,
            EVENTRAIL_SECRET_KEY="s" * 40,
        )
        with server_process(env) as server:
            auth, webhook_id = provision(env, server.base, unique=False)
            with httpx.Client(base_url=server.base, headers=auth, timeout=30) as api:
                # an event and a customer write, replayed: both databases agree
                _post(api, webhook_id, "919800000001", "a")
                r = api.post(
                    "/v2/customers",
                    json={
                        "profiles": [{"identifiers": [{"type": "mobile", "value": "919811112222"}]}]
                    },
                )
                assert r.status_code == 200, r.text
                customer_id = r.json()["createdId"]
                pair.wait_for_replay()
                first = _logs(api)
                assert len(first) == 1
                assert _logs(api, **PRIMARY) == first
                audits = {"entityType": "CUSTOMER", "entityId": str(customer_id)}
                audited = _total(api, "/api_gateway/v2/audits", audits)
                assert audited >= 1
                summary = _total(api, "/v2/events/logs/summary", WINDOW)
                assert summary == 1

                # the replica stops replaying: new writes are on the primary only
                with psycopg.connect(pair.standby.url, autocommit=True) as standby:
                    standby.execute("SELECT pg_wal_replay_pause()")
                    _post(api, webhook_id, "919800000002", "b")  # ?wait=true: the primary
                    r = api.put(
                        f"/v2/customers/{customer_id}",
                        json={"profiles": [{"firstName": "Asha"}]},
                    )
                    assert r.status_code == 200, r.text

                    assert _logs(api) == first  # the replica: not yet
                    on_primary = _logs(api, **PRIMARY)
                    assert len(on_primary) == 2 and on_primary[1:] == first
                    new_id = on_primary[0]
                    one = {"id": new_id}
                    r = api.get("/v2/events/event_data", params=one)
                    assert r.status_code == 200 and r.json()["data"] == [], r.text
                    r = api.get("/v2/events/event_data", params=one, headers=PRIMARY)
                    assert [e["eventId"] for e in r.json()["data"]] == [new_id], r.text
                    assert _total(api, "/api_gateway/v2/audits", audits) == audited
                    assert _total(api, "/api_gateway/v2/audits", audits, **PRIMARY) > audited
                    assert _total(api, "/v2/events/logs/summary", WINDOW) == 1
                    assert _total(api, "/v2/events/logs/summary", WINDOW, **PRIMARY) == 2
                    # a filtered audits read (its count runs off the event loop) too
                    filtered = {**audits, "startDate": "2000-01-01"}
                    assert _total(api, "/api_gateway/v2/audits", filtered) == audited

                    # an unknown choice is refused, naming the header
                    r = api.get("/v2/events/logs", headers={"X-Eventrail-Read-From": "nearest"})
                    assert r.status_code == 400, r.text
                    assert "X-Eventrail-Read-From" in r.json()["errors"][0]["message"]

                    standby.execute("SELECT pg_wal_replay_resume()")
                pair.wait_for_replay()
                assert _logs(api) == on_primary
                assert _total(api, "/api_gateway/v2/audits", audits) > audited
