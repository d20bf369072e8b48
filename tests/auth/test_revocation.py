"""Credentials can be revoked and rotated (issue: they could not): a disabled till, a
changed password, a revoked client, a rotated client's old secret and its old tokens
are all refused, through real HTTP, once the callers cache has let go of them.

The cache's lifetime (5 s in production) is shortened for these tests on the app's own
Authenticator, so that "after the bound" costs a fraction of a second.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from eventrail.app import EventrailApp
from eventrail.auth.service import (
    revoke_client,
    rotate_client,
    set_till_enabled,
    set_till_password,
)
from eventrail.db import Database
from tests.fixtures.envelopes import UNAUTHORIZED
from tests.fixtures.factories import Tenant, basic, make_client, md5, unique
from tests.fixtures.ingest import enable_auth, setup_org

CALLER_TTL = 0.2
PROTECTED = "/v2/orgs/settings"


@pytest.fixture(autouse=True)
def short_caller_cache(app: EventrailApp, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.state.authenticator.callers, "ttl", CALLER_TTL)


async def past_the_cache_bound() -> None:
    await asyncio.sleep(CALLER_TTL * 2)


def assert_401(r: httpx.Response) -> None:
    assert r.status_code == 401, r.text
    assert r.json() == UNAUTHORIZED


async def token(http: httpx.AsyncClient, key: str, secret: str) -> dict[str, str]:
    r = await http.post("/v3/oauth/token/generate", json={"key": key, "secret": secret})
    assert r.status_code == 200, r.text
    return {"X-CAP-API-OAUTH-TOKEN": r.json()["data"]["accessToken"]}


async def test_a_disabled_till_is_refused_everywhere_until_enabled(
    tenant: Tenant, http: httpx.AsyncClient, db: Database
) -> None:
    org = await setup_org(tenant, event_name=unique("Off").replace("-", "_"))
    await enable_auth(org, http)
    key, secret = make_client(db, tenant.org_id, tenant.till_code)
    bearer = await token(http, key, secret)
    md5_auth = basic(tenant.till_code, md5(tenant.password))
    plain_auth = basic(tenant.till_code, tenant.password)
    event = {"event_name": org.event_name, "customer": org.mobile}
    webhook = f"/webhooks/{org.webhook_id}"
    for headers in (md5_auth, plain_auth, bearer):  # they all work, and are cached
        assert (await http.get(PROTECTED, headers=headers)).status_code == 200
    assert (await http.post(webhook, json=event, headers=md5_auth)).status_code == 200

    with db.transaction() as session:
        set_till_enabled(session, org_id=tenant.org_id, code=tenant.till_code, enabled=False)
    await past_the_cache_bound()
    for headers in (md5_auth, plain_auth, bearer):
        assert_401(await http.get(PROTECTED, headers=headers))
    # no token is issued for a client whose default till is disabled
    assert_401(await http.post("/v3/oauth/token/generate", json={"key": key, "secret": secret}))
    assert (await http.post(webhook, json=event, headers=md5_auth)).status_code == 401

    with db.transaction() as session:
        set_till_enabled(session, org_id=tenant.org_id, code=tenant.till_code, enabled=True)
    for headers in (md5_auth, plain_auth, bearer):
        assert (await http.get(PROTECTED, headers=headers)).status_code == 200
    assert (await http.post(webhook, json=event, headers=md5_auth)).status_code == 200


async def test_a_changed_password_refuses_the_old_one(
    tenant: Tenant, http: httpx.AsyncClient, db: Database
) -> None:
    old_md5 = basic(tenant.till_code, md5(tenant.password))
    old_plain = basic(tenant.till_code, tenant.password)
    for headers in (old_md5, old_plain):  # verified and cached, in both caches
        assert (await http.get(PROTECTED, headers=headers)).status_code == 200
    with db.transaction() as session:
        set_till_password(session, org_id=tenant.org_id, code=tenant.till_code, password="N3w!")
    await past_the_cache_bound()
    for headers in (old_md5, old_plain):
        assert_401(await http.get(PROTECTED, headers=headers))
    for headers in (basic(tenant.till_code, md5("N3w!")), basic(tenant.till_code, "N3w!")):
        assert (await http.get(PROTECTED, headers=headers)).status_code == 200


async def test_a_revoked_client_gets_no_token_and_its_tokens_stop(
    tenant: Tenant, http: httpx.AsyncClient, db: Database
) -> None:
    key, secret = make_client(db, tenant.org_id, tenant.till_code)
    other_key, other_secret = make_client(db, tenant.org_id, tenant.till_code)
    bearer = await token(http, key, secret)
    other = await token(http, other_key, other_secret)
    assert (await http.get(PROTECTED, headers=bearer)).status_code == 200
    with db.transaction() as session:
        revoke_client(session, org_id=tenant.org_id, key=key)
    await past_the_cache_bound()
    assert_401(await http.get(PROTECTED, headers=bearer))
    assert_401(await http.post("/v3/oauth/token/generate", json={"key": key, "secret": secret}))
    # the org's other client and its till are untouched
    assert (await http.get(PROTECTED, headers=other)).status_code == 200
    assert (await tenant.http.get(PROTECTED)).status_code == 200


async def test_a_rotated_client_refuses_the_old_secret_and_old_tokens(
    tenant: Tenant, http: httpx.AsyncClient, db: Database
) -> None:
    key, old_secret = make_client(db, tenant.org_id, tenant.till_code)
    old_token = await token(http, key, old_secret)
    assert (await http.get(PROTECTED, headers=old_token)).status_code == 200
    with db.transaction() as session:
        _, new_secret = rotate_client(session, org_id=tenant.org_id, key=key)
    assert new_secret != old_secret
    await past_the_cache_bound()
    assert_401(await http.get(PROTECTED, headers=old_token))
    r = await http.post("/v3/oauth/token/generate", json={"key": key, "secret": old_secret})
    assert_401(r)
    new_token = await token(http, key, new_secret)
    assert (await http.get(PROTECTED, headers=new_token)).status_code == 200
    # rotated again: the token of the first rotation stops too
    with db.transaction() as session:
        rotate_client(session, org_id=tenant.org_id, key=key)
    await past_the_cache_bound()
    assert_401(await http.get(PROTECTED, headers=new_token))
