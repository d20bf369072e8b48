"""Tenant isolation (SPEC §2): a till or token of org B gets nothing of org A, through any
endpoint, and changes nothing of it."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from eventrail.db import Database
from tests.conftest import TEST_SECRET, TenantFactory
from tests.fixtures.envelopes import UNAUTHORIZED
from tests.fixtures.factories import Tenant, make_client
from tests.fixtures.isolation import (
    AUDITS,
    SECRET_FIRST_NAME,
    SETTINGS,
    OrgA,
    assert_error,
    build_org_a,
    mobile,
    ok,
    unique,
)


async def snapshot(org: OrgA) -> dict[str, Any]:
    """Everything org A can read about its own objects."""
    a = org.http
    state: dict[str, Any] = {}
    for cid in org.customers:
        state[f"customer {cid}"] = await ok(await a.get(f"/v2/customers/{cid}"))
        state[f"audits CUSTOMER {cid}"] = await ok(
            await a.get(AUDITS, params={"entityType": "CUSTOMER", "entityId": cid, "limit": 100})
        )
    for number, card_id in org.cards.items():
        state[f"card {number}"] = await ok(await a.get("/v2/card", params={"number": number}))
        state[f"audits CARD {card_id}"] = await ok(
            await a.get(AUDITS, params={"entityType": "CARD", "entityId": card_id, "limit": 100})
        )
    state["request"] = await ok(await a.get(f"/v2/requests/{org.request_id}"))
    for path in (
        "",
        "/customerStatusLabels",
        "/cardStatusLabels",
        "/cardSeries",
        "/fields",
        "/groups",
    ):
        state[f"settings{path}"] = await ok(await a.get(SETTINGS + path))
    return state


@pytest.fixture
async def two_orgs(make_tenant: TenantFactory) -> tuple[OrgA, Tenant, int, int]:
    """Org A fully populated; org B with one customer and one series of its own."""
    a = await build_org_a(await make_tenant())
    b = await make_tenant()
    customer_b = (
        await ok(
            await b.http.post(
                "/v2/customers",
                json={"profiles": [{"identifiers": [{"type": "mobile", "value": mobile()}]}]},
            )
        )
    )["createdId"]
    series_b = (
        await ok(
            await b.http.post(
                f"{SETTINGS}/cardSeries", json={"name": "B-Series", "code": unique("BSER")}
            )
        )
    )["seriesId"]
    return a, b, customer_b, series_b


Case = tuple[str, str, dict[str, Any] | None, Any]  # method, path, query, json


def reads_of_a(org: OrgA) -> list[Case]:
    cases: list[Case] = []
    for cid in org.customers:
        cases.append(("GET", f"/v2/customers/{cid}", None, None))
    for type_, value in org.identifiers.items():
        params = {"source": "INSTORE", "identifierName": type_, "identifierValue": value}
        cases.append(("GET", "/v2/customers/lookup", params, None))
        cases.append(("GET", "/v2/customers/lookup/customerDetails", params, None))
    for number in org.cards:
        cases.append(("GET", "/v2/card", {"number": number}, None))
    cases.append(("GET", f"/v2/requests/{org.request_id}", None, None))
    return cases


def writes_on_a(org: OrgA) -> list[Case]:
    cases: list[Case] = []
    for cid in org.customers:
        cases += [
            ("PUT", f"/v2/customers/{cid}", None, {"profiles": [{"firstName": "Mallory"}]}),
            (
                "PUT",
                f"/v2/customers/{cid}",
                {"source": "INSTORE"},
                {"extendedFields": {}, "profiles": [{"lastName": "Mallory"}]},
            ),
            (
                "POST",
                f"/v2/customers/{cid}/changeIdentifier",
                None,
                {"add": [{"type": "email", "value": "mallory@evil.example.com"}]},
            ),
            (
                "POST",
                f"/v2/customers/{cid}/changeIdentifier",
                None,
                {"remove": [{"type": "mobile", "value": org.mobiles[org.customers.index(cid)]}]},
            ),
            (
                "POST",
                f"/v2/customers/{cid}/subscriptions",
                None,
                {"subscriptions": [{"channel": "EMAIL", "priority": "TRANS", "type": "OPTOUT"}]},
            ),
        ]
    for type_, value in org.identifiers.items():
        params = {"source": "INSTORE", "identifierName": type_, "identifierValue": value}
        cases.append(("PUT", "/v2/customers/lookup", params, {"profiles": [{"firstName": "M"}]}))
        cases.append(
            ("PUT", "/v2/customers/lookup/status", params, {"reason": "x", "label": "SUSPENDED"})
        )
    for number, card_id in org.cards.items():
        cases += [
            ("PUT", "/v2/card", None, {"cardNumber": number, "statusLabel": "SUSPENDED"}),
            ("PUT", "/v2/card", None, {"cardId": card_id, "statusLabel": "SUSPENDED"}),
            ("PUT", "/v2/card", None, {"cardNumber": number, "mappedEntity": {"type": "TILL"}}),
        ]
    return cases


async def send(client: httpx.AsyncClient, case: Case) -> httpx.Response:
    method, path, params, body = case
    return await client.request(method, path, params=params, json=body)


async def test_reads_of_a_are_404_for_b(two_orgs: tuple[OrgA, Tenant, int, int]) -> None:
    org, b, _, _ = two_orgs
    cases = reads_of_a(org)
    assert len(cases) >= 15
    for case in cases:
        # control: A itself can read it
        await ok(await send(org.http, case))
        r = await send(b.http, case)
        assert r.status_code == 404, (case, r.text)
        assert_error(r, 404)


async def test_writes_on_a_are_404_for_b_and_change_nothing(
    two_orgs: tuple[OrgA, Tenant, int, int],
) -> None:
    org, b, _, _ = two_orgs
    before = await snapshot(org)
    cases = writes_on_a(org)
    assert len(cases) >= 30
    for case in cases:
        r = await send(b.http, case)
        assert r.status_code == 404, (case, r.text)
        assert_error(r, 404)
    assert await snapshot(org) == before


async def test_audits_of_a_are_empty_for_b(two_orgs: tuple[OrgA, Tenant, int, int]) -> None:
    org, b, _, _ = two_orgs
    entities = [("CUSTOMER", cid) for cid in org.customers] + [
        ("CARD", cid) for cid in org.cards.values()
    ]
    for entity_type, entity_id in entities:
        mine = await ok(
            await org.http.get(AUDITS, params={"entityType": entity_type, "entityId": entity_id})
        )
        assert mine["pagination"]["totalElements"] >= 1  # control: A has entries
        for params in (
            {},
            {"referenceType": "Identifier"},
            {"includeUserContext": "true", "sortOrder": "ASC", "limit": 100},
            {"startDate": "0", "endDate": str(int(time.time() * 1000) + 10**6)},
        ):
            query = {"entityType": entity_type, "entityId": entity_id, **params}
            theirs = await ok(await b.http.get(AUDITS, params=query))
            assert theirs == {
                "data": [],
                "pagination": {
                    "totalElements": 0,
                    "totalPages": 0,
                    "numberOfElements": 0,
                    "number": 0,
                },
            }, (entity_type, entity_id, params)


async def test_b_cannot_use_a_series_labels_or_fields(
    two_orgs: tuple[OrgA, Tenant, int, int],
) -> None:
    org, b, customer_b, series_b = two_orgs
    before = await snapshot(org)
    # A's series
    for body in (
        {"cardNumber": unique("B"), "seriesId": org.series_id},
        {"cardNumber": unique("B"), "seriesCode": org.series_code},
    ):
        assert_error(await b.http.post("/v2/card", json=body), 400, 3004)
        assert_error(await b.http.get("/v2/card", params={"number": body["cardNumber"]}), 404)
    r = await b.http.post(
        f"/v2/customers/{customer_b}/changeIdentifier",
        json={"add": [{"type": "cardnumber", "value": unique("B"), "seriesId": org.series_id}]},
    )
    assert_error(r, 400, 3004)
    # A's customer as the holder of B's new card
    number = unique("B")
    r = await b.http.post(
        "/v2/card",
        json={"cardNumber": number, "seriesId": series_b, "customerId": org.customers[0]},
    )
    assert r.status_code in (400, 404), r.text
    assert_error(r, r.status_code)
    assert_error(await b.http.get("/v2/card", params={"number": number}), 404)
    # A's labels
    own_mobile = (await ok(await b.http.get(f"/v2/customers/{customer_b}")))["profiles"][0][
        "identifiers"
    ][0]["value"]
    r = await b.http.put(
        "/v2/customers/lookup/status",
        params={"identifierName": "mobile", "identifierValue": own_mobile, "source": "INSTORE"},
        json={"reason": "x", "label": org.customer_label[1]},
    )
    assert_error(r, 400, 8086)
    r = await b.http.post(
        "/v2/card",
        json={"cardNumber": unique("B"), "seriesId": series_b, "statusLabel": org.card_label[1]},
    )
    assert_error(r, 400, 3017)
    # A's field definitions
    r = await b.http.post(
        "/v2/customers",
        json={
            "profiles": [
                {"identifiers": [{"type": "mobile", "value": mobile()}], "fields": {"color": "x"}}
            ]
        },
    )
    assert_error(r, 400, 400)
    r = await b.http.post(
        "/v2/card",
        json={"cardNumber": unique("B"), "seriesId": series_b, "customFields": {"tier": "2"}},
    )
    assert_error(r, 400, 400)
    assert await snapshot(org) == before


async def test_b_settings_show_nothing_of_a(two_orgs: tuple[OrgA, Tenant, int, int]) -> None:
    org, b, _, _ = two_orgs
    settings = await ok(await b.http.get(SETTINGS))
    assert settings["orgId"] == b.org_id != org.tenant.org_id

    for path, label in (
        ("customerStatusLabels", org.customer_label),
        ("cardStatusLabels", org.card_label),
    ):
        mine = (await ok(await org.http.get(f"{SETTINGS}/{path}")))["data"]
        assert label[0] in [x["labelId"] for x in mine]  # control
        theirs = (await ok(await b.http.get(f"{SETTINGS}/{path}")))["data"]
        assert label[0] not in [x["labelId"] for x in theirs]
        assert label[1] not in [x["label"] for x in theirs]
        assert not {x["labelId"] for x in mine} & {x["labelId"] for x in theirs}

    series = (await ok(await b.http.get(f"{SETTINGS}/cardSeries")))["data"]
    assert org.series_id not in [s["seriesId"] for s in series]
    assert org.series_code not in [s["code"] for s in series]
    assert [s["name"] for s in series] == ["B-Series"]

    assert (await ok(await b.http.get(f"{SETTINGS}/fields")))["data"] == []
    assert len((await ok(await org.http.get(f"{SETTINGS}/fields")))["data"]) == 2  # control

    assert (await ok(await b.http.get(f"{SETTINGS}/groups")))["data"] == []
    groups_a = (await ok(await org.http.get(f"{SETTINGS}/groups")))["data"]
    assert [g["externalId"] for g in groups_a] == [org.group]  # control


async def test_groups_are_per_org(two_orgs: tuple[OrgA, Tenant, int, int]) -> None:
    org, b, customer_b, _ = two_orgs
    before = await snapshot(org)
    # A's group is unknown to B
    r = await b.http.put(
        f"{SETTINGS}/groups/{org.group}/members", json={"remove": [org.customers[0]]}
    )
    assert_error(r, 404)
    # A's customers cannot join B's groups
    for members in ([org.customers[0]], [customer_b, org.customers[1]]):
        r = await b.http.post(
            f"{SETTINGS}/groups", json={"externalId": unique("g"), "name": "B", "members": members}
        )
        assert_error(r, 400, 400)
    # B may use the same external id for a group of its own: it is another group
    await ok(
        await b.http.post(
            f"{SETTINGS}/groups",
            json={"externalId": org.group, "name": "B-Group", "members": [customer_b]},
        )
    )
    for add in ([org.customers[0]], org.customers, [customer_b, org.customers[3]]):
        r = await b.http.put(f"{SETTINGS}/groups/{org.group}/members", json={"add": add})
        assert_error(r, 400, 400)
    group = await ok(
        await b.http.put(f"{SETTINGS}/groups/{org.group}/members", json={"remove": org.customers})
    )
    assert group["members"] == [customer_b]
    assert group["name"] == "B-Group"
    assert await snapshot(org) == before


async def test_merge_requests_are_per_org(two_orgs: tuple[OrgA, Tenant, int, int]) -> None:
    org, b, customer_b, _ = two_orgs
    before = await snapshot(org)
    c = org.customers

    def merge(survivor: int, victim: int) -> dict[str, Any]:
        return {
            "type": "CHANGE_IDENTIFIER",
            "baseType": "MERGE",
            "changeIdentifiers": {
                "add": [{"type": "id", "value": str(survivor)}],
                "remove": [{"type": "id", "value": str(victim)}],
            },
        }

    for survivor, victim in ((c[0], c[3]), (c[3], c[0]), (customer_b, c[0]), (c[0], customer_b)):
        for auto in (False, True):
            r = await b.http.post(
                "/v2/requests",
                params={"client_auto_approve": str(auto).lower()},
                json=merge(survivor, victim),
            )
            assert_error(r, 400, 9007)
    r = await b.http.post(
        "/v2/requests",
        json={
            "type": "CHANGE_IDENTIFIER",
            "baseType": "MERGE",
            "userId": c[0],
            "changeIdentifiers": {"add": [{"type": "id", "value": str(customer_b)}]},
        },
    )
    assert_error(r, 400, 9007)

    for status in ("APPROVED", "REJECTED"):
        body = await ok(
            await b.http.put(
                "/v2/requests",
                json=[
                    {
                        "type": "CHANGE_IDENTIFIER",
                        "baseType": "MERGE",
                        "id": org.request_id,
                        "status": status,
                    }
                ],
            )
        )
        assert body["totalCount"] == 1
        assert body["failureCount"] == 1
        (item,) = body["response"]
        assert item["entityId"] == org.request_id
        assert [e["code"] for e in item["errors"]] == [9050]
    assert_error(await b.http.get(f"/v2/requests/{org.request_id}"), 404, 9050)
    after = await snapshot(org)
    assert after["request"]["status"] == "PENDING"
    assert after == before


async def test_decision_batch_with_a_foreign_request_fails_only_that_item(
    two_orgs: tuple[OrgA, Tenant, int, int],
) -> None:
    org, b, customer_b, _ = two_orgs
    before = await snapshot(org)
    other_b = (
        await ok(
            await b.http.post(
                "/v2/customers",
                json={"profiles": [{"identifiers": [{"type": "mobile", "value": mobile()}]}]},
            )
        )
    )["createdId"]
    own_request = (
        await ok(
            await b.http.post(
                "/v2/requests",
                json={
                    "type": "CHANGE_IDENTIFIER",
                    "baseType": "MERGE",
                    "changeIdentifiers": {
                        "add": [{"type": "id", "value": str(customer_b)}],
                        "remove": [{"type": "id", "value": str(other_b)}],
                    },
                },
            )
        )
    )["createdId"]
    decision = {"type": "CHANGE_IDENTIFIER", "baseType": "MERGE", "status": "REJECTED"}
    body = await ok(
        await b.http.put(
            "/v2/requests",
            json=[{**decision, "id": own_request}, {**decision, "id": org.request_id}],
        )
    )
    assert body["totalCount"] == 2
    assert body["failureCount"] == 1
    own, foreign = body["response"]
    assert own == {"entityId": own_request, "result": True, "warnings": []}
    assert foreign["entityId"] == org.request_id
    assert [e["code"] for e in foreign["errors"]] == [9050]
    assert (await ok(await b.http.get(f"/v2/requests/{own_request}")))["status"] == "REJECTED"
    assert await snapshot(org) == before


async def test_same_identifiers_and_card_numbers_in_b_are_b_own(
    two_orgs: tuple[OrgA, Tenant, int, int],
) -> None:
    org, b, _, series_b = two_orgs
    before = await snapshot(org)
    # registering A's identifiers in B neither fails (8006 would reveal A's customer) nor
    # joins A's customer
    r = await b.http.post(
        "/v2/customers",
        json={
            "profiles": [
                {
                    "firstName": "Bob",
                    "identifiers": [
                        {"type": t, "value": v}
                        for t, v in org.identifiers.items()
                        if t != "cardnumber"
                    ],
                }
            ]
        },
    )
    body = await ok(r)
    twin = body["createdId"]
    assert twin not in org.customers
    assert body["warnings"] == []
    for type_, value in org.identifiers.items():
        if type_ == "cardnumber":
            continue
        found = await ok(
            await b.http.get(
                "/v2/customers/lookup",
                params={"source": "INSTORE", "identifierName": type_, "identifierValue": value},
            )
        )
        assert found["entity"] == twin
    view = await ok(await b.http.get(f"/v2/customers/{twin}"))
    assert view["profiles"][0]["firstName"] == "Bob"
    assert SECRET_FIRST_NAME not in json.dumps(view)
    # A's card number is free in B
    number = org.identifiers["cardnumber"]
    await ok(
        await b.http.post(
            f"/v2/customers/{twin}/changeIdentifier",
            json={"add": [{"type": "cardnumber", "value": number, "seriesId": series_b}]},
        )
    )
    card = await ok(await b.http.get("/v2/card", params={"number": number}))
    assert card["orgId"] == b.org_id
    assert card["customerId"] == twin
    assert card["seriesId"] == series_b
    assert card["cardId"] not in org.cards.values()
    # and so is A's unissued card number, for a card of B's own
    loose = next(n for n in org.cards if n != number)
    loose_b = (
        await ok(await b.http.post("/v2/card", json={"cardNumber": loose, "seriesId": series_b}))
    )["entity"]
    assert loose_b not in org.cards.values()
    assert (await ok(await b.http.get("/v2/card", params={"number": loose})))["orgId"] == b.org_id
    # B's audits of its own twin show only B's entries
    audits = await ok(await b.http.get(AUDITS, params={"entityType": "CUSTOMER", "entityId": twin}))
    assert {e["orgId"] for e in audits["data"]} == {b.org_id}
    assert audits["pagination"]["totalElements"] == 2
    assert await snapshot(org) == before


# -- OAuth ------------------------------------------------------------------------------------
async def token_for(http: httpx.AsyncClient, key: str, secret: str) -> str:
    body = await ok(
        await http.post("/v3/oauth/token/generate", json={"key": key, "secret": secret})
    )
    assert set(body) == {"data", "errors"}
    assert body["errors"] is None
    assert set(body["data"]) == {"accessToken", "ttlSeconds"}
    assert body["data"]["ttlSeconds"] == 3600
    token: str = body["data"]["accessToken"]
    return token


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def sign(claims: dict[str, Any], key: str = TEST_SECRET) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@dataclass
class Tokens:
    org: OrgA
    b: Tenant
    a_token: str
    b_token: str
    a_claims: dict[str, Any]
    b_claims: dict[str, Any]


@pytest.fixture
async def tokens(
    two_orgs: tuple[OrgA, Tenant, int, int], db: Database, http: httpx.AsyncClient
) -> Tokens:
    org, b, _, _ = two_orgs
    a_key, a_secret = make_client(db, org.tenant.org_id, org.tenant.till_code)
    b_key, b_secret = make_client(db, b.org_id, b.till_code)
    a_token = await token_for(http, a_key, a_secret)
    b_token = await token_for(http, b_key, b_secret)
    return Tokens(org, b, a_token, b_token, claims_of(a_token), claims_of(b_token))


def oauth(token: str) -> dict[str, str]:
    return {"X-CAP-API-OAUTH-TOKEN": token}


async def test_token_reads_its_own_org_only(tokens: Tokens, http: httpx.AsyncClient) -> None:
    org = tokens.org
    assert tokens.a_claims["org_id"] == org.tenant.org_id
    assert tokens.b_claims["org_id"] == tokens.b.org_id
    for case in reads_of_a(org):
        method, path, params, body = case
        r = await http.request(
            method, path, params=params, json=body, headers=oauth(tokens.a_token)
        )
        assert r.status_code == 200, (case, r.text)
        r = await http.request(
            method, path, params=params, json=body, headers=oauth(tokens.b_token)
        )
        assert r.status_code == 404, (case, r.text)
        assert_error(r, 404)
    cid = org.customers[0]
    params = {"entityType": "CUSTOMER", "entityId": cid}
    mine = await ok(await http.get(AUDITS, params=params, headers=oauth(tokens.a_token)))
    assert mine["pagination"]["totalElements"] >= 1
    theirs = await ok(await http.get(AUDITS, params=params, headers=oauth(tokens.b_token)))
    assert theirs["data"] == []
    assert theirs["pagination"]["totalElements"] == 0
    assert (await ok(await http.get(SETTINGS, headers=oauth(tokens.b_token))))[
        "orgId"
    ] == tokens.b.org_id


async def test_token_writes_on_a_are_404_for_b(tokens: Tokens, http: httpx.AsyncClient) -> None:
    before = await snapshot(tokens.org)
    for case in writes_on_a(tokens.org):
        method, path, params, body = case
        r = await http.request(
            method, path, params=params, json=body, headers=oauth(tokens.b_token)
        )
        assert r.status_code == 404, (case, r.text)
    assert await snapshot(tokens.org) == before


def forged_tokens(t: Tokens) -> dict[str, str]:
    """Tokens that must all be refused, each next to a valid one it was derived from."""
    now = int(time.time())
    a, b = t.a_claims, t.b_claims
    a_header, a_payload, a_signature = t.a_token.split(".")
    b_header, _, b_signature = t.b_token.split(".")
    return {
        # re-signed with another key
        "other key": sign(a, "another-secret-key-that-is-long-enough-9876543210"),
        "other key, B claims org A": sign(
            {**b, "org_id": a["org_id"]}, "another-secret-key-that-is-long-enough-9876543210"
        ),
        # claims changed, signature kept
        "B payload says org A": f"{b_header}.{b64({**b, 'org_id': a['org_id']})}.{b_signature}",
        "A payload with B signature": f"{a_header}.{a_payload}.{b_signature}",
        "longer expiry, signature kept": f"{a_header}.{b64({**a, 'exp': a['exp'] + 10**6})}."
        f"{a_signature}",
        "truncated signature": t.a_token[:-4],
        "unsigned (alg none)": jwt.encode({**a}, key=None, algorithm="none"),
        # signed with the app's key, but the claims do not hold together
        "expired": sign({**a, "iat": now - 7200, "exp": now - 3600}),
        "expired a second ago": sign({**a, "iat": now - 3600, "exp": now - 1}),
        "org A, client of B": sign({**b, "org_id": a["org_id"]}),
        "org A, client id of B, key of A": sign({**a, "client_id": b["client_id"]}),
        "org A, client of A, sub of B": sign({**a, "sub": b["sub"], "client_key": b["sub"]}),
        "org B, client of A": sign({**a, "org_id": b["org_id"]}),
        "unknown client": sign({**a, "client_id": 10**9}),
        "unknown org": sign({**a, "org_id": 2**31 - 7}),
        "other issuer": sign({**a, "iss": "capillary"}),
        "no exp": sign({k: v for k, v in a.items() if k != "exp"}),
        "no org": sign({k: v for k, v in a.items() if k != "org_id"}),
        "org not a number": sign({**a, "org_id": "A"}),
        "garbage": "not.a.jwt",
        "two parts": "abc.def",
    }


async def test_forged_tokens_are_401(tokens: Tokens, http: httpx.AsyncClient) -> None:
    cid = tokens.org.customers[0]
    # control: the app's key and A's real claims make a token that works
    resigned = sign(dict(tokens.a_claims))
    r = await http.get(f"/v2/customers/{cid}", headers=oauth(resigned))
    assert r.status_code == 200, r.text
    for name, token in forged_tokens(tokens).items():
        for method, path, params in (
            ("GET", f"/v2/customers/{cid}", None),
            ("GET", AUDITS, {"entityType": "CUSTOMER", "entityId": cid}),
            ("GET", SETTINGS, None),
        ):
            r = await http.request(method, path, params=params, headers=oauth(token))
            assert r.status_code == 401, (name, path, r.text)
            assert r.json() == UNAUTHORIZED, name


async def test_forged_tokens_cannot_write(tokens: Tokens, http: httpx.AsyncClient) -> None:
    before = await snapshot(tokens.org)
    cid = tokens.org.customers[0]
    for name, token in forged_tokens(tokens).items():
        r = await http.put(
            f"/v2/customers/{cid}",
            json={"profiles": [{"firstName": "Forged"}]},
            headers=oauth(token),
        )
        assert r.status_code == 401, (name, r.text)
        assert r.json() == UNAUTHORIZED
    assert await snapshot(tokens.org) == before


async def test_token_writes_are_audited_in_the_token_org(
    tokens: Tokens, http: httpx.AsyncClient
) -> None:
    org = tokens.org
    cid = org.customers[3]
    await ok(
        await http.put(
            f"/v2/customers/{cid}",
            json={"profiles": [{"lastName": "ViaToken"}]},
            headers=oauth(tokens.a_token),
        )
    )
    audits = await ok(
        await http.get(
            AUDITS,
            params={"entityType": "CUSTOMER", "entityId": cid},
            headers=oauth(tokens.a_token),
        )
    )
    newest = audits["data"][0]
    assert newest["orgId"] == org.tenant.org_id
    assert newest["updatedBy"] == org.tenant.till_id
    assert newest["events"][0]["additionalFields"]["currentValue"] == "ViaToken"
    theirs = await ok(
        await http.get(
            AUDITS,
            params={"entityType": "CUSTOMER", "entityId": cid},
            headers=oauth(tokens.b_token),
        )
    )
    assert theirs["pagination"]["totalElements"] == 0
