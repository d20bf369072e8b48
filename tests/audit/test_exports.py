"""Exports: GET /api_gateway/v2/audits/export and GET /v2/events/logs/export, and
`eventrail export`: every matching row, oldest first, in NDJSON or CSV (RFC 4180
quoting, formula cells defused), masked as the reads are, one org's rows only,
resumable after the last whole row of a file."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from eventrail.config import Settings
from eventrail.db import Database
from eventrail.models import AuditEntry, EventLog
from tests.fixtures.factories import Tenant
from tests.fixtures.server import cli_env, run_cli

AUDITS = "/api_gateway/v2/audits/export"
LOGS = "/v2/events/logs/export"
NASTY = 'a,"b"\nc\r\nd'  # a comma, quotes, LF and CRLF in one cell
MASK = "*****"


def add_entries(db: Database, org_id: int, entity_id: int, n: int, **extra: Any) -> None:
    with db.transaction() as session:
        session.add_all(
            AuditEntry(
                org_id=org_id,
                entity_type="CUSTOMER",
                entity_id=entity_id,
                request_id=f"r{i}-{uuid.uuid4().hex[:6]}",
                updated_by=1,
                source=extra.get("source", "INSTORE"),
                updated_by_mode="API",
                auto_update_time=1_700_000_000_000 + i,
                created_on=1_700_000_000_000 + i,
                events=[
                    {
                        "referenceType": "StandardField",
                        "eventType": "Standard Fields",
                        "updatedField": "FirstName",
                        "additionalFields": {"previousValue": "NA", "currentValue": f"v{i}"},
                        "associateEntities": None,
                        "psi": extra.get("psi", False),
                    }
                ],
            )
            for i in range(n)
        )


def add_logs(db: Database, org_id: int, n: int, body: str = '{"a": 1}') -> None:
    with db.transaction() as session:
        session.add_all(
            EventLog(
                id=str(uuid.uuid4()),
                org_id=org_id,
                webhook_id="0" * 32,
                start_time=1_700_000_000_000 + i // 2,  # two entries a millisecond
                seq=i,
                response_time=1,
                status="EVENT_SUCCESS",
                event_name="Visit",
                input_request=body,
                input_request_masked='{"a": "*****"}',
                message=NASTY if i == 0 else "ok",
            )
            for i in range(n)
        )


def ndjson(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in r.content.splitlines()]
    rows = lines[:-1]
    assert lines[-1] == {"_export": {"rows": len(rows), "complete": True}}
    return rows


def csv_rows(r: httpx.Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.content.decode(), newline="")))


def problem(r: httpx.Response) -> str:
    assert r.status_code == 400, r.text
    message: str = r.json()["errors"][0]["message"]
    return message


async def test_audit_export_every_entry_oldest_first(tenant: Tenant, make_tenant: Any) -> None:
    other = await make_tenant()
    add_entries(tenant.db, tenant.org_id, 77, 2500)  # three batches
    add_entries(other.db, other.org_id, 77, 3)
    rows = ndjson(await tenant.http.get(AUDITS, params={"entityType": "CUSTOMER", "entityId": 77}))
    assert len(rows) == 2500
    assert [r["events"][0]["additionalFields"]["currentValue"] for r in rows[:3]] == [
        "v0",
        "v1",
        "v2",
    ]
    assert {r["orgId"] for r in rows} == {tenant.org_id}
    # the whole org (extension), a date range, and continuing after a cursor
    everything = ndjson(await tenant.http.get(AUDITS))
    assert len(everything) == 2500
    ranged = ndjson(
        await tenant.http.get(
            AUDITS, params={"startDate": "1700000000010", "endDate": "1700000000019"}
        )
    )
    assert len(ranged) == 10
    rest = ndjson(await tenant.http.get(AUDITS, params={"after": rows[2399]["cursor"]}))
    assert [r["requestId"] for r in rest] == [r["requestId"] for r in rows[2400:]]
    # org B sees only its own, even asking for A's entity
    theirs = ndjson(await other.http.get(AUDITS, params={"entityType": "CUSTOMER", "entityId": 77}))
    assert len(theirs) == 3 and {r["orgId"] for r in theirs} == {other.org_id}


async def test_audit_export_csv_quotes_and_defuses(tenant: Tenant) -> None:
    add_entries(tenant.db, tenant.org_id, 78, 1, source=NASTY)
    add_entries(tenant.db, tenant.org_id, 79, 1, source="=HYPERLINK(1)")
    rows = csv_rows(await tenant.http.get(AUDITS, params={"format": "csv"}))
    assert [r["source"] for r in rows] == [NASTY, "'=HYPERLINK(1)"]
    assert json.loads(rows[0]["events"])[0]["updatedField"] == "FirstName"
    raw = (await tenant.http.get(AUDITS, params={"format": "csv"})).content
    assert raw.startswith(b"updatedByUser,updatedBy,orgId,") and raw.endswith(b"\r\n")


async def test_audit_export_masks_psi(tenant: Tenant) -> None:
    add_entries(tenant.db, tenant.org_id, 80, 2, psi=True)
    clear = ndjson(await tenant.http.get(AUDITS))
    assert clear[0]["events"][0]["additionalFields"]["currentValue"] == "v0"
    r = await tenant.http.put("/v2/orgs/settings", json={"psiMaskingEnabled": True})
    assert r.status_code == 200, r.text
    masked = ndjson(await tenant.http.get(AUDITS))
    assert {r["events"][0]["additionalFields"]["currentValue"] for r in masked} == {MASK}
    # as the read masks them
    read = (
        await tenant.http.get(
            "/api_gateway/v2/audits", params={"entityType": "CUSTOMER", "entityId": 80}
        )
    ).json()["data"]
    assert read[0]["events"] == masked[1]["events"]


async def test_exports_refuse_bad_input_naming_it(tenant: Tenant, http: httpx.AsyncClient) -> None:
    for url, params, name in (
        (AUDITS, {"format": "xml"}, "format"),
        (AUDITS, {"entityType": "CUSTOMER"}, "entityId"),
        (AUDITS, {"entityType": "PLANET", "entityId": 1}, "entityType"),
        (AUDITS, {"startDate": "yesterday-ish"}, "startDate"),
        (AUDITS, {"after": "x.y"}, "after"),
        (LOGS, {"format": "json"}, "format"),
        (LOGS, {"status": "MAYBE"}, "status"),
        (LOGS, {"from_date": "nope"}, "from_date"),
        (LOGS, {"after": "12"}, "after"),
        # digits that are not ASCII ones, and a number beyond a 64-bit column
        (AUDITS, {"after": "\u00b2.1"}, "after"),
        (LOGS, {"after": "1.\u0663"}, "after"),
        (LOGS, {"after": "9" * 19 + ".1"}, "after"),
    ):
        message = problem(await tenant.http.get(url, params=params))
        assert f"'{name}'" in message, (url, params, message)
    r = await tenant.http.get(LOGS, params=[("format", "csv"), ("format", "ndjson")])
    assert r.status_code == 400
    for url in (AUDITS, LOGS):
        assert (await http.get(url)).status_code == 401


async def test_log_export_rows_masking_csv_and_isolation(tenant: Tenant, make_tenant: Any) -> None:
    other = await make_tenant()
    add_logs(tenant.db, tenant.org_id, 1203)
    rows = ndjson(await tenant.http.get(LOGS))
    assert len(rows) == 1203
    assert rows[0]["message"] == NASTY and rows[0]["inputRequest"] == '{"a": 1}'
    assert [r["cursor"] for r in rows[:3]] == [
        "1700000000000.0",
        "1700000000000.1",
        "1700000000001.2",
    ]
    rest = ndjson(await tenant.http.get(LOGS, params={"after": rows[1000]["cursor"]}))
    assert [r["id"] for r in rest] == [r["id"] for r in rows[1001:]]
    table = csv_rows(
        await tenant.http.get(LOGS, params={"format": "csv", "status": "event_success"})
    )
    assert len(table) == 1203 and table[0]["message"] == NASTY
    assert ndjson(await other.http.get(LOGS)) == []
    r = await tenant.http.put("/v2/orgs/settings", json={"psiMaskingEnabled": True})
    assert r.status_code == 200, r.text
    assert ndjson(await tenant.http.get(LOGS))[5]["inputRequest"] == '{"a": "*****"}'


async def test_cli_export_resumes_after_the_last_whole_row(
    tenant: Tenant, settings: Settings, tmp_path: Path
) -> None:
    add_entries(tenant.db, tenant.org_id, 81, 1500, source=NASTY)
    add_logs(tenant.db, tenant.org_id, 10)
    env = cli_env(settings.database_url, tmp_path)
    for fmt in ("ndjson", "csv"):
        out = tmp_path / f"audits.{fmt}"
        code, answer = run_cli(
            ["export", "audits", "--org", str(tenant.org_id), "--out", str(out)], env
        )
        assert code == 0 and answer["rows"] == 1500, answer
        whole = out.read_bytes()
        # cut the file in the middle of a row (inside the quoted source), then resume
        cut = whole.rfind(b"\n", 0, len(whole) // 2) + 5
        out.write_bytes(whole[:cut])
        code, answer = run_cli(
            ["export", "audits", "--org", str(tenant.org_id), "--out", str(out), "--resume"], env
        )
        assert code == 0, answer
        resumed = out.read_bytes()
        if fmt == "csv":
            assert resumed == whole
        else:  # the trailer counts the rows of the last run
            assert resumed.splitlines()[:-1] == whole.splitlines()[:-1]
    for kind in ("logs", "events"):
        code, answer = run_cli(
            ["export", kind, "--org", str(tenant.org_id), "--out", str(tmp_path / f"{kind}.csv")],
            env,
        )
        assert code == 0, answer
    code, answer = run_cli(
        ["export", "logs", "--org", "999999999", "--out", str(tmp_path / "x.csv")], env
    )
    assert code == 1 and "no org" in answer["error"]
