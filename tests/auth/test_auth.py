"""Basic till credentials and OAuth tokens (SPEC §2)."""

from __future__ import annotations

import base64
import time

import httpx
import jwt
import pytest

from eventrail.db import Database
from tests.conftest import TEST_SECRET, TenantFactory
from tests.fixtures.envelopes import UNAUTHORIZED_TEXT as UNAUTHORIZED
from tests.fixtures.factories import Tenant, basic, make_client, make_org, make_till, md5

PROTECTED = "/v2/orgs/settings"


def assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == {
        "warnings": [],
        "errors": [{"status": False, "code": 401, "message": UNAUTHORIZED}],
    }
    assert response.headers["x-cap-requestid"]


async def test_basic_with_md5_of_password(tenant: Tenant, http: httpx.AsyncClient) -> None:
    r = await http.get(PROTECTED, headers=basic(tenant.till_code, md5(tenant.password)))
    assert r.status_code == 200
    assert r.json()["orgId"] == tenant.org_id


async def test_basic_with_upper_case_md5(tenant: Tenant, http: httpx.AsyncClient) -> None:
    r = await http.get(PROTECTED, headers=basic(tenant.till_code, md5(tenant.password).upper()))
    assert r.status_code == 200


async def test_basic_with_plain_password(tenant: Tenant, http: httpx.AsyncClient) -> None:
    r = await http.get(PROTECTED, headers=basic(tenant.till_code, tenant.password))
    assert r.status_code == 200
    assert r.json()["orgId"] == tenant.org_id


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b":nocode").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Bearer abc",
        "Digest abc",
    ],
)
async def test_malformed_credentials(http: httpx.AsyncClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    assert_401(await http.get(PROTECTED, headers=headers))


async def test_wrong_password_and_unknown_till(tenant: Tenant, http: httpx.AsyncClient) -> None:
    assert_401(await http.get(PROTECTED, headers=basic(tenant.till_code, md5("wrong"))))
    assert_401(await http.get(PROTECTED, headers=basic(tenant.till_code, "wrong")))
    assert_401(await http.get(PROTECTED, headers=basic("no-such-till", md5(tenant.password))))


async def test_password_is_not_stored(tenant: Tenant) -> None:
    import sqlalchemy as sa

    with tenant.db.transaction(write=False) as session:
        stored = session.execute(
            sa.text("SELECT password_hash FROM tills WHERE id = :id"), {"id": tenant.till_id}
        ).scalar_one()
    assert stored.startswith("$argon2id$")
    assert tenant.password not in stored
    assert md5(tenant.password) not in stored


async def test_same_code_in_two_orgs_is_told_apart_by_password(
    db: Database, http: httpx.AsyncClient
) -> None:
    org_a, org_b = make_org(db), make_org(db)
    code = f"shared-{org_a}-{org_b}"
    make_till(db, org_a, code=code, password="alpha-pass")
    make_till(db, org_b, code=code, password="beta-pass")
    r = await http.get(PROTECTED, headers=basic(code, md5("alpha-pass")))
    assert r.json()["orgId"] == org_a
    r = await http.get(PROTECTED, headers=basic(code, md5("beta-pass")))
    assert r.json()["orgId"] == org_b


async def test_same_code_and_password_in_two_orgs_is_ambiguous(
    db: Database, http: httpx.AsyncClient
) -> None:
    org_a, org_b = make_org(db), make_org(db)
    code = f"twin-{org_a}-{org_b}"
    make_till(db, org_a, code=code, password="same")
    make_till(db, org_b, code=code, password="same")
    assert_401(await http.get(PROTECTED, headers=basic(code, md5("same"))))


# -- OAuth -------------------------------------------------------------------------
async def _token(http: httpx.AsyncClient, key: str, secret: str) -> str:
    r = await http.post("/v3/oauth/token/generate", json={"key": key, "secret": secret})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["errors"] is None
    assert body["data"]["ttlSeconds"] == 3600
    token: str = body["data"]["accessToken"]
    return token


async def test_oauth_token_round_trip(tenant: Tenant, http: httpx.AsyncClient) -> None:
    key, secret = make_client(tenant.db, tenant.org_id, tenant.till_code)
    token = await _token(http, key, secret)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["org_id"] == tenant.org_id
    assert claims["default_till"] == tenant.till_id
    assert claims["client_key"] == key
    assert claims["exp"] - claims["iat"] == 3600
    r = await http.get(PROTECTED, headers={"X-CAP-API-OAUTH-TOKEN": token})
    assert r.status_code == 200
    assert r.json()["orgId"] == tenant.org_id


async def test_oauth_secret_is_hashed(tenant: Tenant) -> None:
    import sqlalchemy as sa

    key, secret = make_client(tenant.db, tenant.org_id, tenant.till_code)
    with tenant.db.transaction(write=False) as session:
        stored = session.execute(
            sa.text("SELECT secret_hash FROM oauth_clients WHERE key = :k"), {"k": key}
        ).scalar_one()
    assert stored.startswith("$argon2id$")
    assert secret not in stored


@pytest.mark.parametrize(
    "body",
    [
        {"key": "nope", "secret": "nope"},
        {"key": "", "secret": "x"},
    ],
)
async def test_oauth_bad_client(http: httpx.AsyncClient, body: dict[str, str]) -> None:
    r = await http.post("/v3/oauth/token/generate", json=body)
    assert r.status_code in {400, 401}
    assert r.json()["errors"][0]["code"] in {400, 401}


async def test_oauth_wrong_secret(tenant: Tenant, http: httpx.AsyncClient) -> None:
    key, _ = make_client(tenant.db, tenant.org_id, tenant.till_code)
    assert_401(await http.post("/v3/oauth/token/generate", json={"key": key, "secret": "x"}))


@pytest.mark.parametrize("body", [{}, {"key": "k"}, {"secret": "s"}, {"key": 1, "secret": 2}])
async def test_oauth_malformed_request(http: httpx.AsyncClient, body: dict[str, object]) -> None:
    r = await http.post("/v3/oauth/token/generate", json=body)
    assert r.status_code == 400
    assert "key" in r.json()["errors"][0]["message"] or "secret" in r.json()["errors"][0]["message"]


async def test_expired_token(tenant: Tenant, http: httpx.AsyncClient) -> None:
    key, secret = make_client(tenant.db, tenant.org_id, tenant.till_code)
    claims = jwt.decode(await _token(http, key, secret), options={"verify_signature": False})
    claims["iat"] = int(time.time()) - 7200
    claims["exp"] = int(time.time()) - 60
    expired = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    assert_401(await http.get(PROTECTED, headers={"X-CAP-API-OAUTH-TOKEN": expired}))


async def test_tampered_tokens(
    tenant: Tenant, make_tenant: TenantFactory, http: httpx.AsyncClient
) -> None:
    other = await make_tenant()
    key, secret = make_client(tenant.db, tenant.org_id, tenant.till_code)
    token = await _token(http, key, secret)
    claims = jwt.decode(token, options={"verify_signature": False})
    forged_key = jwt.encode(claims, "another-key-that-is-also-long-enough-0123456789", "HS256")
    assert_401(await http.get(PROTECTED, headers={"X-CAP-API-OAUTH-TOKEN": forged_key}))
    # a changed payload with the original signature
    head, _payload, sig = token.split(".")
    claims_other = dict(claims, org_id=other.org_id)
    fake_payload = jwt.encode(claims_other, "x" * 40, "HS256").split(".")[1]
    assert_401(
        await http.get(PROTECTED, headers={"X-CAP-API-OAUTH-TOKEN": f"{head}.{fake_payload}.{sig}"})
    )
    # signed by us but claiming another org than the client's
    cross = jwt.encode(claims_other, TEST_SECRET, "HS256")
    assert_401(await http.get(PROTECTED, headers={"X-CAP-API-OAUTH-TOKEN": cross}))
    # alg none
    none = jwt.encode(claims, None, algorithm="none")
    assert_401(await http.get(PROTECTED, headers={"X-CAP-API-OAUTH-TOKEN": none}))
    assert_401(await http.get(PROTECTED, headers={"X-CAP-API-OAUTH-TOKEN": "garbage"}))


async def test_psi_view_scope(tenant: Tenant, http: httpx.AsyncClient) -> None:
    key, secret = make_client(tenant.db, tenant.org_id, tenant.till_code, psi_view=True)
    claims = jwt.decode(await _token(http, key, secret), options={"verify_signature": False})
    assert claims["scopes"] == ["PSI_VIEW"]


async def test_token_writes_are_attributed_to_the_clients_till(
    tenant: Tenant, http: httpx.AsyncClient
) -> None:
    key, secret = make_client(tenant.db, tenant.org_id, tenant.till_code)
    token = await _token(http, key, secret)
    r = await http.post(
        "/v2/customers",
        headers={"X-CAP-API-OAUTH-TOKEN": token},
        json={"profiles": [{"identifiers": [{"type": "externalId", "value": "oauth-1"}]}]},
    )
    assert r.status_code == 200, r.text
    r = await http.get(
        "/api_gateway/v2/audits",
        headers={"X-CAP-API-OAUTH-TOKEN": token},
        params={"entityType": "CUSTOMER", "entityId": r.json()["createdId"]},
    )
    entry = r.json()["data"][0]
    assert entry["updatedBy"] == tenant.till_id
    assert entry["till"]["code"] == tenant.till_code
