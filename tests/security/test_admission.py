"""Admission under attack: the failed-login lockout, credential headers, and the
budgets of webhook senders. Each test performs an attack that got through before
admission became one path (findings of the hostile-tenant review)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from eventrail.app import EventrailApp
from eventrail.config import Settings
from eventrail.ingest import service as ingest_service
from eventrail.processing.statuses import UNAUTHORIZED_MESSAGE
from tests.fixtures.factories import Tenant, basic, make_client, md5
from tests.fixtures.ingest import (
    accepted,
    all_logs,
    assert_error,
    enable_auth,
    setup_org,
)
from tests.fixtures.server import from_address

BUDGET = Settings.model_fields["auth_failures_per_minute"].default


async def test_concurrent_guesses_cannot_outrun_the_budget(
    tenant: Tenant, app: EventrailApp
) -> None:
    """Forty guesses at once, the right password among the last: each attempt is
    counted before its hash is checked, so no more than the budget are ever checked
    (before: the budget was read before the hash and counted after it, so all forty
    were checked and the right one got in)."""
    guesses = [basic(tenant.till_code, md5(f"wrong-{n}")) for n in range(40)]
    guesses.append(basic(tenant.till_code, md5(tenant.password)))
    async with from_address(app, "10.20.0.1") as attacker:
        answers = await asyncio.gather(
            *(attacker.get("/v2/orgs/settings", headers=h) for h in guesses)
        )
    statuses = [r.status_code for r in answers]
    checked = [s for s in statuses if s in (200, 401)]
    assert len(checked) <= BUDGET, statuses
    assert statuses.count(429) >= len(guesses) - BUDGET, statuses


async def test_concurrent_token_guesses_cannot_outrun_the_budget(
    tenant: Tenant, app: EventrailApp
) -> None:
    key, secret = make_client(tenant.db, tenant.org_id, tenant.till_code)
    bodies = [{"key": key, "secret": f"wrong-{n}"} for n in range(30)] + [
        {"key": key, "secret": secret}
    ]
    async with from_address(app, "10.20.0.2") as attacker:
        answers = await asyncio.gather(
            *(attacker.post("/v3/oauth/token/generate", json=b) for b in bodies)
        )
    statuses = [r.status_code for r in answers]
    assert len([s for s in statuses if s in (200, 401)]) <= BUDGET, statuses


async def test_a_stranger_cannot_lock_a_till_out_of_its_webhook(
    tenant: Tenant, app: EventrailApp, drain: Callable[[], int]
) -> None:
    """Guessing a till's password from one address locks out that address only: the
    till's own sender, elsewhere, keeps posting to its Basic-auth webhook (before:
    ten bad guesses from anywhere gave its events 429, unlogged)."""
    org = await setup_org(tenant)
    async with (
        from_address(app, "10.30.0.66") as attacker,
        from_address(app, "10.30.0.5") as sender,
    ):
        await enable_auth(org, attacker)
        for n in range(BUDGET + 5):
            await attacker.post(
                org.url, json=org.payload(), headers=basic(tenant.till_code, f"guess-{n}")
            )
        locked = await attacker.post(
            org.url, json=org.payload(), headers=basic(tenant.till_code, md5(tenant.password))
        )
        assert locked.status_code == 429, locked.text
        right = basic(tenant.till_code, md5(tenant.password))
        ids = [accepted(await sender.post(org.url, json=org.payload(), headers=right))]
        ids.append(accepted(await sender.post(org.url, json=org.payload(), headers=right)))
    drain()
    statuses = {e["id"]: e.get("status") for e in await all_logs(org.http)}
    assert [statuses[i] for i in ids] == ["EVENT_SUCCESS", "EVENT_SUCCESS"]


async def test_a_code_guessed_from_many_addresses_admits_only_clean_ones(
    tenant: Tenant, app: EventrailApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the hourly budget of a code (all addresses together), an address that has
    failed three times on it is refused; one that has not failed is still checked, so
    the right password from a clean address gets in and a wrong one still gets 401."""
    monkeypatch.setattr(app.state.authenticator.lockout, "per_hour", 8)
    code = tenant.till_code
    right = basic(code, md5(tenant.password))
    for n in range(4):  # four addresses, three failures each: twelve, past eight
        async with from_address(app, f"10.40.0.{n}") as guesser:
            for m in range(3):
                r = await guesser.get("/v2/orgs/settings", headers=basic(code, f"g{n}{m}"))
                assert r.status_code == 401, (n, m, r.text)
    async with from_address(app, "10.40.0.0") as guesser:
        r = await guesser.get("/v2/orgs/settings", headers=right)
        assert r.status_code == 429, "a source that failed three times waits for the hour"
        assert int(r.headers["x-ratelimit-limit"]) == 8
        assert 60 < int(r.headers["retry-after"]) <= 3600
    async with from_address(app, "10.40.1.1") as clean:
        assert (await clean.get("/v2/orgs/settings", headers=right)).status_code == 200
    async with from_address(app, "10.40.1.2") as newcomer:
        for m in range(3):
            r = await newcomer.get("/v2/orgs/settings", headers=basic(code, f"n{m}"))
            assert r.status_code == 401, r.text
        r = await newcomer.get("/v2/orgs/settings", headers=basic(code, "n3"))
        assert r.status_code == 429, r.text


async def test_an_address_that_logged_in_is_not_counted(tenant: Tenant, app: EventrailApp) -> None:
    """A successful login gives its attempt back: a busy till that logs in far more
    often than the budget (each time uncached, from many workers) is never refused."""
    authenticator = app.state.authenticator
    async with from_address(app, "10.50.0.1") as till:
        for _ in range(BUDGET * 2):
            authenticator.callers._items.clear()  # every request checks the password
            r = await till.get(
                "/v2/orgs/settings", headers=basic(tenant.till_code, md5(tenant.password))
            )
            assert r.status_code == 200, r.text


ROUTES = [
    ("GET", "/v2/orgs/settings"),
    ("GET", "/v2/events/logs"),
    ("GET", "/v2/events/event_data/1"),
    ("GET", "/api_gateway/v2/audits?entityType=CUSTOMER&entityId=1"),
    ("PUT", "/v2/customers/1"),
]


@pytest.mark.parametrize("header", ["Authorization", "X-CAP-API-OAUTH-TOKEN"])
async def test_a_repeated_credential_header_is_refused_on_every_route(
    tenant: Tenant, http: httpx.AsyncClient, header: str
) -> None:
    """Two credentials in one request: which counts would depend on the transport (the
    fast lane read the last, FastAPI the first), so every route refuses it, webhooks
    included, whichever order the right and the wrong one come in."""
    org = await setup_org(tenant)
    good = basic(tenant.till_code, md5(tenant.password))["Authorization"]
    values = [good, "Basic " + "bm8tc3VjaDp0aWxs"]
    routes = [*ROUTES, ("POST", org.url), ("POST", f"{org.url}/batch")]
    for method, url in routes:
        for pair in (values, values[::-1]):
            r = await http.request(
                method,
                url,
                headers=[(header, v) for v in pair] + [("Content-Type", "application/json")],
                content=json.dumps({"events": [org.payload()]} if "batch" in url else {}),
            )
            assert_error(r, 400, 400, f"Header '{header}' is repeated")


async def test_a_credential_header_too_long_to_be_real_is_refused(
    http: httpx.AsyncClient, app: EventrailApp
) -> None:
    """A credential of 10 KB (under the header limits) is refused before it is decoded,
    one of a megabyte by the header limits; nothing of either is kept (a long till code
    once became a key of the failed-login limiter, never released)."""
    limiter = app.state.rate_limiter
    before = len(limiter._memory)
    for n in range(5):
        r = await http.get("/v2/orgs/settings", headers=basic(f"{n}" + "x" * 10_000, "pw"))
        assert_error(r, 400, 400, "Header 'Authorization' is longer than 4096 bytes")
        r = await http.get("/v2/orgs/settings", headers=basic(f"{n}" + "x" * 1_000_000, "pw"))
        assert_error(r, 431, 431)
    assert len(limiter._memory) == before
    keys = list(limiter._memory._windows)
    assert all(len(part) < 100 for _, key in keys for part in key)


async def test_anonymous_senders_spend_their_own_budget(
    tenant: Tenant, app: EventrailApp, drain: Callable[[], int]
) -> None:
    """Anyone who knows an open webhook's URI can post to it, but spends the budget of
    their own address, not the real sender's (before: 429 for the real sender)."""
    ok = await tenant.http.put("/v2/orgs/settings", json={"rateLimitPerMinute": 5})
    assert ok.status_code == 200, ok.text
    org = await setup_org(tenant)
    async with (
        from_address(app, "10.60.0.66") as stranger,
        from_address(app, "10.60.0.5") as sender,
    ):
        statuses = [
            (await stranger.post(org.url, json=org.payload())).status_code for _ in range(8)
        ]
        assert statuses == [200] * 5 + [429] * 3, statuses
        ids = [accepted(await sender.post(org.url, json=org.payload())) for _ in range(5)]
        assert (await sender.post(org.url, json=org.payload())).status_code == 429
    drain()
    logged = {e["id"] for e in await all_logs(org.http)}
    assert set(ids) <= logged


async def test_refused_posts_are_limited_per_address_and_logged_bounded(
    tenant: Tenant,
    app: EventrailApp,
    drain: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Posts without credentials to an authEnabled webhook: each is refused with 401
    and logged with at most a few KiB of its body; past the refusal budget of its
    address it gets 429 and nothing is stored (before: every 900 KB body was kept)."""
    monkeypatch.setattr(ingest_service, "REFUSALS_PER_MINUTE", 4)
    org = await setup_org(tenant)
    big = {**org.payload(), "note": "x" * 900_000}
    async with (
        from_address(app, "10.70.0.66") as stranger,
        from_address(app, "10.70.0.67") as another,
    ):
        await enable_auth(org, stranger)  # its probe is the stranger's first refusal
        statuses = [(await stranger.post(org.url, json=big)).status_code for _ in range(6)]
        assert statuses == [401] * 3 + [429] * 3, statuses
        assert (await another.post(org.url, json=big)).status_code == 401
    drain()
    logs = await all_logs(org.http)
    refused = [e for e in logs if e["message"] == UNAUTHORIZED_MESSAGE]
    assert len(refused) == 1 + 3 + 1, [e["inputRequest"][:80] for e in logs]
    big_ones = [e for e in refused if "not kept" in e["inputRequest"]]
    assert len(big_ones) == 4
    for entry in big_ones:
        assert len(entry["inputRequest"]) < 200
        assert entry["eventName"] == org.event_name
