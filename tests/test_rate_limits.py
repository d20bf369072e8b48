"""Rate limits per (org, credential, endpoint) per minute (SPEC §8), in memory and in
Redis shared by several server processes; and the request size and shape limits."""

from __future__ import annotations

import logging
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
import redis

from tests.fixtures.databases import REDIS_URL, REQUIRE_REDIS, redis_available
from tests.fixtures.factories import Tenant, basic, make_client, make_till, md5
from tests.fixtures.server import cli_env, free_port, run_cli, running_server

LIMITED = {
    "warnings": [],
    "errors": [{"status": False, "code": 429, "message": "Rate limit exceeded"}],
}


async def _limit(tenant: Tenant, per_minute: int) -> None:
    r = await tenant.http.put("/v2/orgs/settings", json={"rateLimitPerMinute": per_minute})
    assert r.status_code == 200, r.text


def assert_limited(r: httpx.Response, limit: int) -> None:
    assert r.status_code == 429, r.text
    assert r.json() == LIMITED
    assert r.headers["x-ratelimit-limit"] == str(limit)
    assert r.headers["x-ratelimit-remaining"] == "0"
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert int(r.headers["x-ratelimit-reset"]) >= int(time.time())
    assert r.headers["x-cap-requestid"]


async def test_limit_reached_answers_429_with_headers(tenant: Tenant) -> None:
    await _limit(tenant, 5)
    remaining = []
    for _ in range(5):
        r = await tenant.http.get("/v2/orgs/settings/cardSeries")
        assert r.status_code == 200, r.text
        assert r.headers["x-ratelimit-limit"] == "5"
        remaining.append(int(r.headers["x-ratelimit-remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    assert_limited(await tenant.http.get("/v2/orgs/settings/cardSeries"), 5)
    # another endpoint has its own budget
    assert (await tenant.http.get("/v2/orgs/settings/fields")).status_code == 200


async def test_budgets_are_per_credential_and_per_org(
    tenant: Tenant, make_tenant: object, http: httpx.AsyncClient
) -> None:
    await _limit(tenant, 3)
    for _ in range(3):
        assert (await tenant.http.get("/v2/orgs/settings/fields")).status_code == 200
    assert_limited(await tenant.http.get("/v2/orgs/settings/fields"), 3)
    # another till of the same org
    _, code, password = make_till(tenant.db, tenant.org_id)
    r = await http.get("/v2/orgs/settings/fields", headers=basic(code, md5(password)))
    assert r.status_code == 200
    # an OAuth client of the same org
    key, secret = make_client(tenant.db, tenant.org_id, tenant.till_code)
    token = (
        await http.post("/v3/oauth/token/generate", json={"key": key, "secret": secret})
    ).json()
    r = await http.get(
        "/v2/orgs/settings/fields", headers={"X-CAP-API-OAUTH-TOKEN": token["data"]["accessToken"]}
    )
    assert r.status_code == 200
    # another org
    other = await make_tenant()  # type: ignore[operator]
    assert (await other.http.get("/v2/orgs/settings/fields")).status_code == 200


async def test_webhook_posts_are_limited_and_not_acknowledged(
    tenant: Tenant, drain: object
) -> None:
    await tenant.http.post(
        "/v2/events",
        json={
            "eventName": "Ping",
            "actions": ["EIConsumer"],
            "fields": [{"name": "customer", "type": "customer"}],
        },
    )
    hook = (
        await tenant.http.post(
            "/v2/events/webhook",
            json={"transformerType": "defaultTransformer", "tillCode": tenant.till_code},
        )
    ).json()["webHookId"]
    await _limit(tenant, 2)
    for _ in range(2):
        r = await tenant.http.post(f"/webhooks/{hook}", json={"event_name": "Ping"})
        assert r.status_code == 200
    r = await tenant.http.post(f"/webhooks/{hook}", json={"event_name": "Ping"})
    assert_limited(r, 2)
    assert drain() >= 2  # type: ignore[operator]
    logs = (await tenant.http.get("/v2/events/logs", params={"event_name": "Ping"})).json()["data"]
    assert len(logs) == 2, "a refused post is not acknowledged, so not logged"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "deeper than 32"),
        (b'{"profiles": "' + b"x" * (70 * 1024) + b'"}', "longer than"),
    ],
    ids=["hostile-nesting", "depth-40", "string-70KiB"],
)
async def test_shape_limits_on_every_endpoint(tenant: Tenant, body: bytes, needle: str) -> None:
    for path in ("/v2/customers", "/v2/events", "/v2/orgs/settings/groups"):
        r = await tenant.http.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, r.text
        assert needle in r.json()["errors"][0]["message"]


def _redis_or_skip() -> None:
    if not redis_available():
        if REQUIRE_REDIS:
            pytest.fail("Redis is required (EVENTRAIL_TEST_REQUIRE_REDIS=1) but unreachable")
        pytest.skip("no Redis reachable")


def test_two_servers_share_one_budget_in_redis(tmp_path: Path) -> None:
    _redis_or_skip()
    env = cli_env(
        f"sqlite:///{tmp_path}/limits.db",
        tmp_path,
        EVENTRAIL_REDIS_URL=REDIS_URL,
        EVENTRAIL_REDIS_KEY_PREFIX=f"eventrail-test-{uuid.uuid4().hex}",
    )
    assert run_cli(["migrate"], env)[0] == 0
    _, org = run_cli(["org", "create", "--name", "Limited"], env)
    run_cli(
        [
            "till",
            "create",
            "--org",
            str(org["orgId"]),
            "--code",
            "l.till",
            "--password",
            "pw",
            "--admin",
        ],
        env,
    )
    auth = basic("l.till", md5("pw"))
    with (
        running_server(env) as first,
        running_server(env) as second,
        httpx.Client(headers=auth, timeout=10) as client,
    ):
        r = client.put(f"{first}/v2/orgs/settings", json={"rateLimitPerMinute": 10})
        assert r.status_code == 200
        statuses = [
            client.get(f"{(first, second)[i % 2]}/v2/orgs/settings/fields").status_code
            for i in range(16)
        ]
    assert statuses[:10] == [200] * 10, statuses
    assert statuses[10:] == [429] * 6, "both servers count against one budget"


def test_redis_going_away_counts_in_memory_then_back_in_redis(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Redis of the test's own (never the shared one) stops mid-minute: budgets are
    still enforced, in this process (before: everything was allowed), with one log
    line; when it is back, counting returns to it, with one line more."""
    from eventrail.kit import ratelimit

    monkeypatch.setattr(ratelimit._RedisWindows, "RETRY_SECONDS", 0.0)
    port = free_port()
    command = [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no", "--dir", str(tmp_path),
    ]  # fmt: skip

    def start() -> subprocess.Popen[bytes]:
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        with redis.Redis(port=port) as client:
            for _ in range(100):
                try:
                    if client.ping():
                        return server
                except redis.ConnectionError:
                    time.sleep(0.05)
        raise AssertionError("the test's Redis did not start")

    def keys() -> list[bytes]:
        with redis.Redis(port=port) as client:
            return list(client.keys("t:*"))

    server = start()
    limiter = ratelimit.RateLimiter(f"redis://127.0.0.1:{port}/0", key_prefix="t")
    try:
        with caplog.at_level(logging.WARNING, logger="eventrail.ratelimit"):
            assert [limiter.check(3, "k").allowed for _ in range(2)] == [True, True]
            assert keys(), "counted in Redis"
            server.terminate()
            server.wait()
            allowed = [limiter.check(3, "k").allowed for _ in range(5)]
            assert allowed == [True, True, True, False, False], "fails closed, in memory"
            assert limiter.degraded
            server = start()
            assert limiter.check(3, "k").allowed  # a fresh count in the fresh Redis
            assert not limiter.degraded
            assert keys()
        messages = [r.getMessage() for r in caplog.records if r.name == "eventrail.ratelimit"]
        assert len(messages) == 2, messages
        assert "unreachable" in messages[0]
        assert "reachable again" in messages[1]
    finally:
        limiter.close()
        server.terminate()
        server.wait()
