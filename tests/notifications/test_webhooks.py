"""/v3/webHooks: create, read, replace, delete; bad input; isolation between orgs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import TenantFactory
from tests.fixtures.factories import Tenant
from tests.fixtures.ingest import assert_error
from tests.fixtures.notifications import webhook_body

PUBLIC = "https://receiver.example.com/hook"


async def _create(t: Tenant, **extra: Any) -> dict[str, Any]:
    r = await t.http.post("/v3/webHooks", json=webhook_body(PUBLIC, **extra))
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


async def test_create_read_replace_delete(tenant: Tenant) -> None:
    made = await _create(tenant)
    assert made["secret"].startswith("whsec_")
    assert made["webHookUrl"] == PUBLIC and made["methodType"] == "POST"
    assert made["webHookHeaders"] == {"Authorization": "Basic abc"}
    assert made["eventNames"] == ["customerAdded", "customerUpdated"]
    assert made["attribution"]["createdBy"]["code"] == tenant.till_code
    assert made["attribution"]["createdBy"]["type"] == "TILL"
    assert made["maxAllowedConnections"] == 4 and made["slaInSeconds"] == 30
    assert len(made["webHookId"]) == 24 and made["consumerGroupId"]
    hook_id = made["webHookId"]

    listed = (await tenant.http.get("/v3/webHooks")).json()["data"]
    assert [w["webHookId"] for w in listed] == [hook_id]
    assert listed[0]["secret"] is None  # shown once, at creation

    body = webhook_body(
        "http://receiver.example.com/v2", ["cardAdded"], methodType="put", active=False
    )
    body["webHookHeaders"] = ["X-Brand: one", "X-Other: two"]
    r = await tenant.http.put(f"/v3/webHooks/{hook_id}", json=body)
    assert r.status_code == 200, r.text
    changed = r.json()["data"]
    assert changed["methodType"] == "PUT" and changed["active"] is False
    assert changed["webHookHeaders"] == {"X-Brand": "one", "X-Other": "two"}
    assert changed["eventNames"] == ["cardAdded"]

    r = await tenant.http.delete(f"/v3/webHooks/{hook_id}")
    assert r.status_code == 200 and r.json()["data"]["active"] is False
    assert (await tenant.http.get("/v3/webHooks")).json()["data"] == []
    r = await tenant.http.get(f"/v3/webHooks/{hook_id}")
    assert_error(r, 404)


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("ftp url", {"webHookUrl": "ftp://receiver.example.com/x"}, "webHookUrl"),
    ("no scheme", {"webHookUrl": "receiver.example.com/x"}, "webHookUrl"),
    ("javascript", {"webHookUrl": "javascript:alert(1)"}, "webHookUrl"),
    ("user info", {"webHookUrl": "https://u:p@receiver.example.com/"}, "webHookUrl"),
    ("loopback", {"webHookUrl": "http://127.0.0.1:8080/x"}, "webHookUrl"),
    ("localhost", {"webHookUrl": "http://localhost/x"}, "webHookUrl"),
    ("metadata", {"webHookUrl": "http://169.254.169.254/latest"}, "webHookUrl"),
    ("mapped v6", {"webHookUrl": "http://[::ffff:127.0.0.1]/"}, "webHookUrl"),
    ("decimal ip", {"webHookUrl": "http://2130706433/"}, "webHookUrl"),
    ("private", {"webHookUrl": "http://10.1.2.3/"}, "webHookUrl"),
    ("v4-compatible v6", {"webHookUrl": "http://[::127.0.0.1]/"}, "webHookUrl"),
    ("translated v6", {"webHookUrl": "http://[::ffff:0:7f00:1]/"}, "webHookUrl"),
    ("6to4 of private", {"webHookUrl": "http://[2002:a00:1::1]/"}, "webHookUrl"),
    ("site-local v6", {"webHookUrl": "http://[fec0::1]/"}, "webHookUrl"),
    ("cgnat", {"webHookUrl": "http://100.64.0.1/"}, "webHookUrl"),
    ("unknown event", {"eventNames": ["customerAdded", "pointsIssued"]}, "eventNames"),
    ("no events", {"eventNames": []}, "eventNames"),
    ("method GET", {"methodType": "GET"}, "methodType"),
    ("method DELETE", {"methodType": "DELETE"}, "methodType"),
    ("type queue", {"webHookType": "QUEUE_INT"}, "webHookType"),
    (
        "too many headers",
        {"webHookHeaders": {f"X-H{i}": "v" for i in range(21)}},
        "webHookHeaders",
    ),
    ("CRLF value", {"webHookHeaders": {"X-A": "v\r\nX-Injected: 1"}}, "webHookHeaders"),
    ("LF value", {"webHookHeaders": {"X-A": "v\nb"}}, "webHookHeaders"),
    ("CRLF name", {"webHookHeaders": {"X-A\r\nB": "v"}}, "webHookHeaders"),
    ("list no colon", {"webHookHeaders": ["X-A"]}, "webHookHeaders"),
    ("reserved header", {"webHookHeaders": {"webhook-signature": "x"}}, "webHookHeaders"),
    ("host header", {"webHookHeaders": {"Host": "internal"}}, "webHookHeaders"),
    ("signature, other case", {"webHookHeaders": {"Webhook-Signature": "x"}}, "webHookHeaders"),
    ("webhook- family", {"webHookHeaders": {"webhook-version": "2"}}, "webHookHeaders"),
    ("content-type", {"webHookHeaders": {"Content-Type": "text/plain"}}, "webHookHeaders"),
    ("content-length", {"webHookHeaders": {"CONTENT-LENGTH": "1"}}, "webHookHeaders"),
    ("transfer-encoding", {"webHookHeaders": {"Transfer-Encoding": "chunked"}}, "webHookHeaders"),
    ("content-encoding", {"webHookHeaders": {"Content-Encoding": "gzip"}}, "webHookHeaders"),
    ("expect", {"webHookHeaders": {"Expect": "100-continue"}}, "webHookHeaders"),
    ("upgrade", {"webHookHeaders": {"Upgrade": "h2c"}}, "webHookHeaders"),
    ("reserved in a list", {"webHookHeaders": ["Host : internal"]}, "webHookHeaders"),
    ("twice, other case", {"webHookHeaders": {"X-A": "1", "x-a": "2"}}, "webHookHeaders"),
    ("twice in a list", {"webHookHeaders": ["X-A: 1", "X-A: 2"]}, "webHookHeaders"),
    ("list, other case", {"webHookHeaders": ["X-A: 1", "x-A : 2"]}, "webHookHeaders"),
    ("connections 0", {"maxAllowedConnections": 0}, "maxAllowedConnections"),
    ("connections text", {"maxAllowedConnections": "4"}, "maxAllowedConnections"),
    ("sla negative", {"slaInSeconds": -1}, "slaInSeconds"),
    ("active text", {"active": "true"}, "active"),
    ("identifier", {"customerIdentifiersToBeEnriched": ["passport"]}, "customerIdentifiers"),
    ("unknown key", {"webHookUrll": PUBLIC}, "webHookUrll"),
    ("blank name", {"name": "   "}, "name"),
]


@pytest.mark.parametrize(("case", "change", "field"), BAD, ids=[b[0] for b in BAD])
async def test_bad_input_is_a_400_naming_the_field(
    tenant: Tenant, case: str, change: dict[str, Any], field: str
) -> None:
    r = await tenant.http.post("/v3/webHooks", json={**webhook_body(PUBLIC), **change})
    assert_error(r, 400, None, field)
    made = await _create(tenant)
    r = await tenant.http.put(
        f"/v3/webHooks/{made['webHookId']}", json={**webhook_body(PUBLIC), **change}
    )
    assert_error(r, 400, None, field)


async def test_bad_log_filters(tenant: Tenant) -> None:
    for params, field in (
        ({"status": "lost"}, "status"),
        ({"eventName": "pointsIssued"}, "eventName"),
        ({"startDate": "yesterday"}, "startDate"),
        ({"limit": "0"}, "limit"),
        ({"limit": "x"}, "limit"),
    ):
        r = await tenant.http.get("/v3/webHooks/eventLog", params=params)
        assert_error(r, 400, None, field)


async def test_writes_need_the_admin_permission(tenant: Tenant, make_tenant: TenantFactory) -> None:
    from tests.fixtures.factories import basic, make_till, md5

    _, code, password = make_till(tenant.db, tenant.org_id, admin=False)
    r = await tenant.http.post(
        "/v3/webHooks", json=webhook_body(PUBLIC), headers=basic(code, md5(password))
    )
    assert_error(r, 403, 403)
    r = await tenant.http.get("/v3/webHooks", headers=basic(code, md5(password)))
    assert r.status_code == 200


async def test_another_org_cannot_see_change_delete_or_redeliver(
    make_tenant: TenantFactory,
) -> None:
    a = await make_tenant()
    b = await make_tenant()
    made = await _create(a)
    hook_id = made["webHookId"]
    assert (await b.http.get("/v3/webHooks")).json()["data"] == []
    assert_error(await b.http.get(f"/v3/webHooks/{hook_id}"), 404)
    assert_error(await b.http.put(f"/v3/webHooks/{hook_id}", json=webhook_body(PUBLIC)), 404)
    assert_error(await b.http.delete(f"/v3/webHooks/{hook_id}"), 404)
    # A's webhook is untouched.
    r = await a.http.get(f"/v3/webHooks/{hook_id}")
    assert r.status_code == 200 and r.json()["data"]["webHookUrl"] == PUBLIC


async def test_a_header_name_repeated_in_the_json_object_is_a_400(tenant: Tenant) -> None:
    """A JSON parser keeps the last of two equal keys: the repeat must not pass silently."""
    made = await _create(tenant)
    for headers in ('{"X-A":"1","X-A":"2"}', '{"X-A":"1","Authorization":"b","x-a":"2"}'):
        text = json.dumps(webhook_body(PUBLIC), separators=(",", ":"))
        given = '"webHookHeaders":{"Authorization":"Basic abc"}'
        assert given in text
        raw = text.replace(given, f'"webHookHeaders":{headers}')
        send = {"content": raw, "headers": {"content-type": "application/json"}}
        r = await tenant.http.post("/v3/webHooks", **send)
        assert_error(r, 400, None, "webHookHeaders", "'X-A' is given twice")
        r = await tenant.http.put(f"/v3/webHooks/{made['webHookId']}", **send)
        assert_error(r, 400, None, "webHookHeaders", "given twice")
    listed = (await tenant.http.get("/v3/webHooks")).json()["data"]
    assert [w["webHookHeaders"] for w in listed] == [{"Authorization": "Basic abc"}]
    # The same name in two webhooks, or a name that only starts alike, is fine.
    ok = webhook_body(PUBLIC)
    ok["webHookHeaders"] = {"X-A": "1", "X-AB": "2", "X-Webhook-Id": "mine"}
    r = await tenant.http.post("/v3/webHooks", json=ok)
    assert r.status_code == 200, r.text
