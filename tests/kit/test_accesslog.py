"""The access line (kit/accesslog.py) and the log formats (kit/logsafe.py): one line
per request on both lanes, with the route's template, the status, the request id of
the answer and the caller's org, in a real server's JSON or text log, and never a
credential, a PSI value or a query string."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from eventrail.db import Database, migrate
from tests.fixtures.factories import Tenant, basic, make_client, make_org, make_till, md5
from tests.fixtures.server import EVENTRAIL, cli_env, server_process
from tests.security.cluster import settings_for

ACCESS = "eventrail.access"


def _lines(caplog: pytest.LogCaptureFixture) -> dict[str, dict[str, Any]]:
    """The access lines captured so far, by request id."""
    found = {}
    for record in caplog.records:
        if record.name == ACCESS:
            assert isinstance(record.args, dict)
            found[record.args["requestId"]] = record.args
    return found


async def test_one_line_per_request_on_both_lanes(
    tenant: Tenant, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    answers = {
        # the fast lane, FastAPI, a refusal of the guard, no route at all
        "lane": await tenant.http.get("/v2/events/logs", params={"limit": 1}),
        "api": await tenant.http.get("/v2/customers/123456789", params={"mobile": "91mobile4242"}),
        "guard": await tenant.http.get("/v2/customers/lookup?source=a&source=b"),
        "anonymous": await http.get("/v2/events/logs"),
        "nowhere": await http.get("/no/such/place"),
        "method": await http.delete("/v2/events/logs"),
    }
    lines = _lines(caplog)
    assert len(lines) == len(answers)
    expected = {
        "lane": ("GET", "/v2/events/logs", 200, tenant.org_id),
        "api": ("GET", "/v2/customers/{id}", 404, tenant.org_id),
        "guard": ("GET", None, 400, None),  # refused before routing: no route, no caller
        "anonymous": ("GET", "/v2/events/logs", 401, None),
        "nowhere": ("GET", None, 404, None),
        "method": ("DELETE", "/v2/events/logs", 405, None),
    }
    for name, answer in answers.items():
        line = lines[answer.headers["x-cap-requestid"]]
        assert answer.status_code == expected[name][2], answer.text
        assert (line["method"], line["route"], line["status"], line["orgId"]) == expected[name]
        assert 0 < line["durationMs"] < 10_000
    assert "mobile4242" not in caplog.text  # a request id (hex) cannot contain it


Answers = list[tuple[str, httpx.Response]]


def _requests(
    base: str, till_code: str, password: str, client: tuple[str, str]
) -> tuple[Answers, dict[str, str], str]:
    """The first requests of the log test: (name, answer) pairs, the Basic auth, the token."""
    auth = basic(till_code, md5(password))
    done: Answers = []
    with httpx.Client(base_url=base, timeout=30) as api:
        r = api.post("/v3/oauth/token/generate", json={"key": client[0], "secret": client[1]})
        assert r.status_code == 200, r.text
        token = r.json()["data"]["accessToken"]
        done.append(("token", r))
        field = {"entityType": "CUSTOMER", "kind": "custom", "name": "nick", "psi": True}
        r = api.post("/v2/orgs/settings/fields", json={**field, "dataType": "string"}, headers=auth)
        assert r.status_code == 200, r.text
        done.append(("ok", api.get("/v2/orgs/settings", headers={"X-CAP-API-OAUTH-TOKEN": token})))
        done.append(("lane", api.get("/v2/events/logs?limit=1", headers=auth)))
        done.append(("unauthorized", api.get("/v2/events/logs", headers=basic(till_code, "x"))))
        done.append(("not found", api.get("/v2/customers/987654321", headers=auth)))
        done.append(
            ("bad request", api.post("/v2/customers", json={"password": password}, headers=auth))
        )
    return done, auth, token


def test_a_real_servers_json_log(env: dict[str, str]) -> None:
    settings = settings_for(env)
    migrate(settings)
    db = Database(settings)
    password = f"pw-{uuid.uuid4().hex}"
    try:
        org_id = make_org(db)
        _, till_code, _ = make_till(db, org_id, password=password)
        client = make_client(db, org_id, till_code)
    finally:
        db.dispose()
    psi_value = f"Nick{uuid.uuid4().hex[:12]}"
    mobile = "9198" + str(uuid.uuid4().int)[:8]
    with server_process({**env, "EVENTRAIL_LOG_FORMAT": "json"}) as server:
        done, auth, token = _requests(server.base, till_code, password, client)
        with httpx.Client(base_url=server.base, headers=auth, timeout=30) as api:
            profile = {
                "firstName": "Log",
                "identifiers": [{"type": "mobile", "value": mobile}],
                "fields": {"nick": psi_value},
            }
            r = api.post("/v2/customers", json={"profiles": [profile]})
            assert r.status_code == 200, r.text
            r = api.get(f"/v2/customers/{r.json()['createdId']}")
            assert r.status_code == 200 and psi_value in r.text
            r = api.get(
                "/v2/customers/lookup",
                params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile},
            )
            assert r.status_code == 200, r.text
            done.append(("lookup", r))
    output = server.output()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert all(
        isinstance(line, dict) and {"time", "level", "logger"} <= set(line) for line in lines
    )
    assert any(line.get("message", "").startswith("Uvicorn running") for line in lines)
    access = {line["requestId"]: line for line in lines if line["logger"] == ACCESS}
    expected = {
        "token": ("POST", "/v3/oauth/token/generate", 200, None),
        "ok": ("GET", "/v2/orgs/settings", 200, org_id),
        "lane": ("GET", "/v2/events/logs", 200, org_id),
        "unauthorized": ("GET", "/v2/events/logs", 401, None),
        "not found": ("GET", "/v2/customers/{id}", 404, org_id),
        "bad request": ("POST", "/v2/customers", 400, org_id),
        "lookup": ("GET", "/v2/customers/lookup", 200, org_id),
    }
    for name, answer in done:
        line = access[answer.headers["x-cap-requestid"]]
        assert (line["method"], line["route"], line["status"], line["orgId"]) == expected[name]
        assert line["level"] == "INFO" and isinstance(line["durationMs"], float)
    secrets = {
        "password": password,
        "md5 of the password": md5(password),
        "Basic header": auth["Authorization"].split()[1],
        "its decoding": base64.b64decode(auth["Authorization"].split()[1]).decode(),
        "token": token,
        "client secret": client[1],
        "PSI value": psi_value,
        "query-string identifier": mobile,
    }
    assert not [name for name, value in secrets.items() if value in output]


def test_the_default_log_is_text(env: dict[str, str]) -> None:
    migrate(settings_for(env))
    with server_process(env) as server:
        r = httpx.get(f"{server.base}/v2/events/logs", timeout=30)
        assert r.status_code == 401
    output = server.output()
    assert "Uvicorn running on" in output
    rid = r.headers["x-cap-requestid"]
    assert "GET /v2/events/logs 401 " in output and f"request {rid} org None" in output
    for line in output.splitlines():
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)


@pytest.mark.parametrize("command", [["serve"], ["process"], ["migrate"]])
def test_a_bad_log_format_is_one_line(command: list[str], tmp_path: Path) -> None:
    done = subprocess.run(
        [EVENTRAIL, *command],
        env={"EVENTRAIL_LOG_FORMAT": "yaml", "EVENTRAIL_DATA_DIR": str(tmp_path), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == "eventrail: invalid setting: EVENTRAIL_LOG_FORMAT must be text or json\n"


@pytest.mark.parametrize("command", ["serve", "process"])
def test_a_start_up_failure_in_json_is_one_json_line(command: str, tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path}/not-migrated.db", tmp_path, EVENTRAIL_LOG_FORMAT="json")
    done = subprocess.run([EVENTRAIL, command], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    [line] = done.stderr.splitlines()
    logged = json.loads(line)
    assert logged["level"] == "ERROR" and "run `eventrail migrate`" in logged["message"]
