"""Card APIs: POST/PUT/GET /v2/card, card series and card status labels.

Shapes and codes: SPEC §4, reference §6 and §10, docs/decisions.md "Cards".
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from eventrail.app import EventrailApp
from tests.fixtures.factories import Tenant

CARD_STATUSES = ["NOT_ISSUED", "ISSUED", "ACTIVE", "SUSPENDED", "EXPIRED", "DELETED"]
CARD_OBJECT_KEYS = {
    "cardId",
    "cardNumber",
    "seriesId",
    "seriesCode",
    "customerId",
    "orgId",
    "statusLabel",
    "statusInfo",
    "customFields",
    "extendedFields",
    "mappedEntity",
}
AUDITS = "/api_gateway/v2/audits"


# -- helpers -------------------------------------------------------------------------
def assert_error(r: httpx.Response, status: int, code: int, *names: str) -> str:
    """The failure envelope of SPEC §1 with the given HTTP status and code."""
    assert r.status_code == status, r.text
    assert r.headers.get("X-Cap-Requestid")
    body = r.json()
    assert set(body) == {"warnings", "errors"}, body
    assert body["warnings"] == []
    assert len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert error["status"] is False
    assert error["code"] == code, body
    assert isinstance(error["message"], str)
    assert error["message"]
    for name in names:
        assert name in error["message"], (name, error["message"])
    return str(error["message"])


async def add_series(t: Tenant, code: str = "GOLD", name: str = "Gold cards") -> int:
    r = await t.http.post("/v2/orgs/settings/cardSeries", json={"name": name, "code": code})
    assert r.status_code == 200, r.text
    series_id = r.json()["seriesId"]
    assert isinstance(series_id, int)
    return int(series_id)


async def add_card_label(t: Tenant, status: str, label: str) -> int:
    r = await t.http.post(
        "/v2/orgs/settings/cardStatusLabels", json={"status": status, "label": label}
    )
    assert r.status_code == 200, r.text
    return int(r.json()["labelId"])


async def card_labels(t: Tenant) -> dict[str, dict[str, Any]]:
    r = await t.http.get("/v2/orgs/settings/cardStatusLabels")
    assert r.status_code == 200, r.text
    return {item["label"]: item for item in r.json()["data"]}


async def define_field(
    t: Tenant,
    kind: str,
    name: str,
    *,
    data_type: str = "string",
    entity_type: str = "CARD",
    audit: bool = True,
) -> int:
    r = await t.http.post(
        "/v2/orgs/settings/fields",
        json={
            "entityType": entity_type,
            "kind": kind,
            "name": name,
            "dataType": data_type,
            "auditTrail": audit,
            "psi": False,
        },
    )
    assert r.status_code == 200, r.text
    return int(r.json()["fieldId"])


async def add_customer(t: Tenant, mobile: str = "919988776655") -> int:
    r = await t.http.post(
        "/v2/customers",
        json={
            "profiles": [{"firstName": "Tom", "identifiers": [{"type": "mobile", "value": mobile}]}]
        },
    )
    assert r.status_code == 200, r.text
    return int(r.json()["createdId"])


async def add_card(t: Tenant, number: str, series_id: int, **extra: Any) -> int:
    r = await t.http.post("/v2/card", json={"cardNumber": number, "seriesId": series_id, **extra})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {"entity": body["entity"], "warnings": []}
    assert isinstance(body["entity"], int)
    return int(body["entity"])


async def get_card(t: Tenant, number: str) -> dict[str, Any]:
    r = await t.http.get("/v2/card", params={"number": number})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body.keys() >= CARD_OBJECT_KEYS, body
    return body


async def issue(t: Tenant, customer_id: int, number: str, series_id: int) -> httpx.Response:
    return await t.http.post(
        f"/v2/customers/{customer_id}/changeIdentifier",
        json={"add": [{"type": "cardnumber", "value": number, "seriesId": series_id}]},
    )


async def audit_count(t: Tenant, entity_type: str, entity_id: int) -> int:
    r = await t.http.get(AUDITS, params={"entityType": entity_type, "entityId": entity_id})
    assert r.status_code == 200, r.text
    return int(r.json()["pagination"]["totalElements"])


# -- series and labels ------------------------------------------------------------------
async def test_new_org_has_one_card_label_per_status_named_like_it(tenant: Tenant) -> None:
    r = await tenant.http.get("/v2/orgs/settings/cardStatusLabels")
    assert r.status_code == 200, r.text
    labels = r.json()["data"]
    assert sorted(item["status"] for item in labels) == sorted(CARD_STATUSES)
    for item in labels:
        assert item["label"] == item["status"]
        assert isinstance(item["labelId"], int)


async def test_card_series_are_created_and_listed(tenant: Tenant) -> None:
    gold = await add_series(tenant, "GOLD", "Gold cards")
    silver = await add_series(tenant, "SILVER", "Silver cards")
    assert gold != silver
    r = await tenant.http.get("/v2/orgs/settings/cardSeries")
    assert r.status_code == 200, r.text
    listed = {item["code"]: item for item in r.json()["data"]}
    assert listed["GOLD"]["seriesId"] == gold
    assert listed["GOLD"]["name"] == "Gold cards"
    assert listed["SILVER"]["seriesId"] == silver


async def test_card_label_is_created_for_a_card_status(tenant: Tenant) -> None:
    label_id = await add_card_label(tenant, "ACTIVE", "Gold member")
    labels = await card_labels(tenant)
    assert labels["Gold member"]["labelId"] == label_id
    assert labels["Gold member"]["status"] == "ACTIVE"


async def test_card_label_with_unknown_status_is_refused(tenant: Tenant) -> None:
    r = await tenant.http.post(
        "/v2/orgs/settings/cardStatusLabels", json={"status": "LOST", "label": "Lost"}
    )
    assert_error(r, 400, 400, "status")


# -- POST /v2/card and GET /v2/card -------------------------------------------------------
async def test_add_card_answers_its_id_and_get_shows_the_card(tenant: Tenant) -> None:
    series_id = await add_series(tenant, "GOLD")
    r = await tenant.http.post("/v2/card", json={"cardNumber": "GOLD0001", "seriesId": series_id})
    assert r.status_code == 200, r.text
    assert r.headers.get("X-Cap-Requestid")
    body = r.json()
    assert list(body) == ["entity", "warnings"]
    assert isinstance(body["entity"], int)
    assert body["warnings"] == []

    card = await get_card(tenant, "GOLD0001")
    labels = await card_labels(tenant)
    assert card["cardId"] == body["entity"]
    assert card["cardNumber"] == "GOLD0001"
    assert card["seriesId"] == series_id
    assert card["seriesCode"] == "GOLD"
    assert card["customerId"] == 0
    assert card["orgId"] == tenant.org_id
    assert card["statusLabel"] == "NOT_ISSUED"
    assert card["statusInfo"]["labelId"] == labels["NOT_ISSUED"]["labelId"]
    assert card["statusInfo"]["status"] == "NOT_ISSUED"
    assert card["customFields"] == {}
    assert card["extendedFields"] == {}
    assert card["mappedEntity"] is None


async def test_add_card_by_series_code(tenant: Tenant) -> None:
    series_id = await add_series(tenant, "SILVER")
    r = await tenant.http.post("/v2/card", json={"cardNumber": "SLV-1", "seriesCode": "SILVER"})
    assert r.status_code == 200, r.text
    card = await get_card(tenant, "SLV-1")
    assert card["seriesId"] == series_id
    assert card["seriesCode"] == "SILVER"


async def test_card_number_may_use_dash_underscore_dot_and_slash(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    number = "Ab9-_./x"
    await add_card(tenant, number, series_id)
    assert (await get_card(tenant, number))["cardNumber"] == number


async def test_add_card_with_a_status_label(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    label_id = await add_card_label(tenant, "ACTIVE", "Gold member")
    await add_card(tenant, "GOLD0002", series_id, statusLabel="Gold member")
    card = await get_card(tenant, "GOLD0002")
    assert card["statusLabel"] == "Gold member"
    assert card["statusInfo"]["labelId"] == label_id
    assert card["statusInfo"]["status"] == "ACTIVE"
    assert card["customerId"] == 0


async def test_add_card_with_customer_issues_it_to_that_customer(tenant: Tenant) -> None:
    """decisions.md: POST /v2/card with customerId links the card and, as it was
    NOT_ISSUED, makes it ACTIVE."""
    series_id = await add_series(tenant)
    customer_id = await add_customer(tenant)
    await add_card(tenant, "GOLD0003", series_id, customerId=customer_id)
    card = await get_card(tenant, "GOLD0003")
    assert card["customerId"] == customer_id
    assert card["statusInfo"]["status"] == "ACTIVE"
    assert card["statusLabel"] == "ACTIVE"


async def test_add_card_with_customer_adds_the_cardnumber_identifier(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    customer_id = await add_customer(tenant)
    await add_card(tenant, "GOLD0004", series_id, customerId=customer_id)
    r = await tenant.http.get(f"/v2/customers/{customer_id}")
    assert r.status_code == 200, r.text
    identifiers = [i for p in r.json()["profiles"] for i in p["identifiers"]]
    assert {"type": "cardnumber", "value": "GOLD0004"}.items() <= next(
        i for i in identifiers if i["type"] == "cardnumber"
    ).items()


async def test_add_card_for_unknown_customer_is_refused(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    r = await tenant.http.post(
        "/v2/card", json={"cardNumber": "GOLD0005", "seriesId": series_id, "customerId": 987654}
    )
    assert_error(r, 404, 8015)
    r = await tenant.http.get("/v2/card", params={"number": "GOLD0005"})
    assert_error(r, 404, 3010)


@pytest.mark.parametrize(
    "series",
    [{"seriesId": 987654}, {"seriesCode": "NOPE"}, {}],
    ids=["unknown-id", "unknown-code", "none-given"],
)
async def test_add_card_in_unknown_series_is_3004(tenant: Tenant, series: dict[str, Any]) -> None:
    await add_series(tenant)
    r = await tenant.http.post("/v2/card", json={"cardNumber": "GOLD0006", **series})
    assert_error(r, 400, 3004)
    r = await tenant.http.get("/v2/card", params={"number": "GOLD0006"})
    assert_error(r, 404, 3010)


async def test_series_of_another_org_is_unknown(make_tenant: Any) -> None:
    mine, other = await make_tenant(), await make_tenant()
    foreign_series = await add_series(other, "FOREIGN")
    r = await mine.http.post("/v2/card", json={"cardNumber": "X1", "seriesId": foreign_series})
    assert_error(r, 400, 3004)
    r = await mine.http.post("/v2/card", json={"cardNumber": "X1", "seriesCode": "FOREIGN"})
    assert_error(r, 400, 3004)


async def test_duplicate_card_number_is_3009_and_keeps_the_first(tenant: Tenant) -> None:
    gold = await add_series(tenant, "GOLD")
    silver = await add_series(tenant, "SILVER")
    card_id = await add_card(tenant, "DUP0001", gold)
    r = await tenant.http.post("/v2/card", json={"cardNumber": "DUP0001", "seriesId": silver})
    assert_error(r, 400, 3009)
    card = await get_card(tenant, "DUP0001")
    assert card["cardId"] == card_id
    assert card["seriesId"] == gold
    assert await audit_count(tenant, "CARD", card_id) == 1


async def test_same_card_number_in_two_orgs_is_two_cards(make_tenant: Any) -> None:
    a, b = await make_tenant(), await make_tenant()
    id_a = await add_card(a, "SHARED01", await add_series(a))
    id_b = await add_card(b, "SHARED01", await add_series(b))
    assert id_a != id_b
    assert (await get_card(a, "SHARED01"))["cardId"] == id_a
    assert (await get_card(b, "SHARED01"))["cardId"] == id_b
    assert (await get_card(b, "SHARED01"))["orgId"] == b.org_id


async def test_card_of_another_org_is_not_found(make_tenant: Any) -> None:
    owner, stranger = await make_tenant(), await make_tenant()
    card_id = await add_card(owner, "PRIVATE1", await add_series(owner))
    r = await stranger.http.get("/v2/card", params={"number": "PRIVATE1"})
    assert_error(r, 404, 3010)
    r = await stranger.http.put("/v2/card", json={"cardId": card_id, "statusLabel": "SUSPENDED"})
    assert_error(r, 404, 3010)
    r = await stranger.http.put(
        "/v2/card", json={"cardNumber": "PRIVATE1", "statusLabel": "SUSPENDED"}
    )
    assert_error(r, 404, 3010)
    assert (await get_card(owner, "PRIVATE1"))["statusLabel"] == "NOT_ISSUED"


async def test_add_card_with_unknown_label_is_3017(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    r = await tenant.http.post(
        "/v2/card", json={"cardNumber": "LBL0001", "seriesId": series_id, "statusLabel": "Lost"}
    )
    assert_error(r, 400, 3017)
    r = await tenant.http.get("/v2/card", params={"number": "LBL0001"})
    assert_error(r, 404, 3010)


@pytest.mark.parametrize(
    "number",
    ["AB CD", "AB#12", "-ABC", "ABC\u00e91", "AB\t1", "A" * 101, "   ", ""],
    ids=["space", "hash", "leading-dash", "accent", "tab", "too-long", "blank", "empty"],
)
async def test_bad_card_number_is_400_naming_cardnumber(tenant: Tenant, number: str) -> None:
    series_id = await add_series(tenant)
    r = await tenant.http.post("/v2/card", json={"cardNumber": number, "seriesId": series_id})
    assert_error(r, 400, 400, "cardNumber")


async def test_bad_card_number_in_change_identifier_is_400(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    customer_id = await add_customer(tenant)
    r = await issue(tenant, customer_id, "AB CD", series_id)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["status"] is False


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"seriesCode": "GOLD"}, "cardNumber"),
        ({"cardNumber": 12345, "seriesCode": "GOLD"}, "cardNumber"),
        ({"cardNumber": None, "seriesCode": "GOLD"}, "cardNumber"),
        ({"cardNumber": "T1", "seriesId": "abc"}, "seriesId"),
        ({"cardNumber": "T1", "seriesId": 1.5}, "seriesId"),
        ({"cardNumber": "T1", "seriesCode": "GOLD", "customerId": "x"}, "customerId"),
        ({"cardNumber": "T1", "seriesCode": "GOLD", "customFields": ["a"]}, "customFields"),
        ({"cardNumber": "T1", "seriesCode": "GOLD", "extendedFields": "a"}, "extendedFields"),
        ({"cardNumber": "T1", "seriesCode": "GOLD", "statusLabel": 5}, "statusLabel"),
        ({"cardNumber": "T1", "seriesCode": "GOLD", "mappedEntity": "TILL"}, "mappedEntity"),
    ],
    ids=[
        "missing-number",
        "number-is-int",
        "number-is-null",
        "series-id-text",
        "series-id-float",
        "customer-id-text",
        "custom-fields-list",
        "extended-fields-text",
        "label-int",
        "mapped-entity-text",
    ],
)
async def test_add_card_with_missing_or_mistyped_field_is_400(
    tenant: Tenant, body: dict[str, Any], name: str
) -> None:
    await add_series(tenant, "GOLD")
    r = await tenant.http.post("/v2/card", json=body)
    assert_error(r, 400, 400, name)


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"[1, 2]", b'"GOLD1"', b'{"cardNumber": "T1", '],
    ids=["empty", "text", "list", "string", "truncated"],
)
async def test_add_card_with_malformed_body_is_400(tenant: Tenant, content: bytes) -> None:
    r = await tenant.http.post(
        "/v2/card", content=content, headers={"Content-Type": "application/json"}
    )
    assert_error(r, 400, 400)


async def test_card_apis_need_credentials(tenant: Tenant, app: EventrailApp) -> None:
    series_id = await add_series(tenant)
    await add_card(tenant, "AUTH0001", series_id)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anonymous:
        r = await anonymous.get("/v2/card", params={"number": "AUTH0001"})
        assert_error(r, 401, 401)
        r = await anonymous.post("/v2/card", json={"cardNumber": "AUTH2", "seriesId": series_id})
        assert_error(r, 401, 401)
        r = await anonymous.put(
            "/v2/card", json={"cardNumber": "AUTH0001", "statusLabel": "SUSPENDED"}
        )
        assert_error(r, 401, 401)
    assert (await get_card(tenant, "AUTH0001"))["statusLabel"] == "NOT_ISSUED"
    r = await tenant.http.get("/v2/card", params={"number": "AUTH2"})
    assert_error(r, 404, 3010)


async def test_get_unknown_card_is_3010_not_found(tenant: Tenant) -> None:
    r = await tenant.http.get("/v2/card", params={"number": "NOSUCHCARD"})
    assert_error(r, 404, 3010)


async def test_get_card_without_number_is_400(tenant: Tenant) -> None:
    r = await tenant.http.get("/v2/card")
    assert_error(r, 400, 400, "number")


# -- PUT /v2/card -----------------------------------------------------------------------
async def test_put_card_by_number_changes_the_label_and_answers_the_card(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    card_id = await add_card(tenant, "PUT0001", series_id)
    labels = await card_labels(tenant)
    r = await tenant.http.put(
        "/v2/card",
        json={
            "cardNumber": "PUT0001",
            "statusLabel": "SUSPENDED",
            "statusInfo": {"reason": "Lost at the airport"},
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers.get("X-Cap-Requestid")
    body = r.json()
    assert body.keys() >= CARD_OBJECT_KEYS
    assert body["cardId"] == card_id
    assert body["cardNumber"] == "PUT0001"
    assert body["statusLabel"] == "SUSPENDED"
    assert body["statusInfo"]["labelId"] == labels["SUSPENDED"]["labelId"]
    assert body["statusInfo"]["status"] == "SUSPENDED"
    assert body["warnings"] == []
    card = await get_card(tenant, "PUT0001")
    assert card["statusLabel"] == "SUSPENDED"
    assert card["statusInfo"]["status"] == "SUSPENDED"


async def test_put_card_by_id(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    card_id = await add_card(tenant, "PUT0002", series_id)
    label_id = await add_card_label(tenant, "ACTIVE", "Platinum")
    r = await tenant.http.put("/v2/card", json={"cardId": card_id, "statusLabel": "Platinum"})
    assert r.status_code == 200, r.text
    assert r.json()["cardNumber"] == "PUT0002"
    assert r.json()["statusLabel"] == "Platinum"
    card = await get_card(tenant, "PUT0002")
    assert card["statusInfo"]["labelId"] == label_id
    assert card["statusInfo"]["status"] == "ACTIVE"


@pytest.mark.parametrize(
    "body",
    [
        {"cardNumber": "NOSUCH", "statusLabel": "ACTIVE"},
        {"cardId": 987654, "statusLabel": "ACTIVE"},
    ],
    ids=["by-number", "by-id"],
)
async def test_put_unknown_card_is_3010_not_found(tenant: Tenant, body: dict[str, Any]) -> None:
    r = await tenant.http.put("/v2/card", json=body)
    assert_error(r, 404, 3010)


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"statusLabel": "ACTIVE"}, "cardNumber"),
        ({"cardNumber": 42, "statusLabel": "ACTIVE"}, "cardNumber"),
        ({"cardId": "x", "statusLabel": "ACTIVE"}, "cardId"),
        ({"cardNumber": "PUT0003", "customFields": [1]}, "customFields"),
        ({"cardNumber": "PUT0003", "statusInfo": "lost"}, "statusInfo"),
    ],
    ids=["no-card", "number-int", "id-text", "custom-fields-list", "status-info-text"],
)
async def test_put_card_with_missing_or_mistyped_field_is_400(
    tenant: Tenant, body: dict[str, Any], name: str
) -> None:
    await add_card(tenant, "PUT0003", await add_series(tenant))
    r = await tenant.http.put("/v2/card", json=body)
    assert_error(r, 400, 400, name)
    assert (await get_card(tenant, "PUT0003"))["statusLabel"] == "NOT_ISSUED"


async def test_put_card_with_unknown_label_is_3017_and_changes_nothing(tenant: Tenant) -> None:
    card_id = await add_card(tenant, "PUT0004", await add_series(tenant))
    r = await tenant.http.put("/v2/card", json={"cardNumber": "PUT0004", "statusLabel": "Lost"})
    assert_error(r, 400, 3017)
    assert (await get_card(tenant, "PUT0004"))["statusLabel"] == "NOT_ISSUED"
    assert await audit_count(tenant, "CARD", card_id) == 1


async def test_put_card_with_unchanged_label_warns_3039_and_records_nothing(
    tenant: Tenant,
) -> None:
    card_id = await add_card(tenant, "PUT0005", await add_series(tenant))
    before = await audit_count(tenant, "CARD", card_id)
    r = await tenant.http.put(
        "/v2/card", json={"cardNumber": "PUT0005", "statusLabel": "NOT_ISSUED"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["statusLabel"] == "NOT_ISSUED"
    assert [w["code"] for w in body["warnings"]] == [3039]
    assert body["warnings"][0]["status"] is False
    assert body["warnings"][0]["message"]
    assert await audit_count(tenant, "CARD", card_id) == before


async def test_put_card_in_another_series_is_refused(tenant: Tenant) -> None:
    gold = await add_series(tenant, "GOLD")
    silver = await add_series(tenant, "SILVER")
    await add_card(tenant, "PUT0006", gold)
    r = await tenant.http.put(
        "/v2/card", json={"cardNumber": "PUT0006", "seriesId": silver, "statusLabel": "ACTIVE"}
    )
    assert r.status_code == 400, r.text
    assert (await get_card(tenant, "PUT0006"))["statusLabel"] == "NOT_ISSUED"


async def test_deleted_card_refuses_further_actions_with_8087(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    card_id = await add_card(tenant, "DEL0001", series_id)
    r = await tenant.http.put("/v2/card", json={"cardNumber": "DEL0001", "statusLabel": "DELETED"})
    assert r.status_code == 200, r.text
    assert r.json()["statusInfo"]["status"] == "DELETED"
    count = await audit_count(tenant, "CARD", card_id)

    r = await tenant.http.put("/v2/card", json={"cardNumber": "DEL0001", "statusLabel": "ACTIVE"})
    message = assert_error(r, 400, 8087)
    assert message == "Card is DELETED, not allowed to do any further actions"
    r = await tenant.http.put("/v2/card", json={"cardId": card_id, "statusLabel": "ACTIVE"})
    assert_error(r, 400, 8087)

    customer_id = await add_customer(tenant)
    r = await issue(tenant, customer_id, "DEL0001", series_id)
    assert_error(r, 400, 8087)

    card = await get_card(tenant, "DEL0001")
    assert card["statusInfo"]["status"] == "DELETED"
    assert card["customerId"] == 0
    assert await audit_count(tenant, "CARD", card_id) == count


async def test_mapped_entity_is_kept_and_replaced(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    mapped = {"type": "TILL", "value": "front_desk", "id": 75155373}
    await add_card(tenant, "MAP0001", series_id, mappedEntity=mapped)
    assert (await get_card(tenant, "MAP0001"))["mappedEntity"] == mapped
    other = {"type": "TILL", "value": "back_office", "id": 75155374}
    r = await tenant.http.put("/v2/card", json={"cardNumber": "MAP0001", "mappedEntity": other})
    assert r.status_code == 200, r.text
    assert r.json()["mappedEntity"] == other
    assert (await get_card(tenant, "MAP0001"))["mappedEntity"] == other


# -- issuing to customers -----------------------------------------------------------------
async def test_change_identifier_creates_and_issues_a_new_card(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    customer_id = await add_customer(tenant)
    r = await issue(tenant, customer_id, "ISS0001", series_id)
    assert r.status_code == 200, r.text
    card = await get_card(tenant, "ISS0001")
    assert card["customerId"] == customer_id
    assert card["seriesId"] == series_id
    assert card["statusLabel"] == "ACTIVE"
    assert card["statusInfo"]["status"] == "ACTIVE"


async def test_change_identifier_issues_an_existing_not_issued_card(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    card_id = await add_card(tenant, "ISS0002", series_id)
    customer_id = await add_customer(tenant)
    r = await issue(tenant, customer_id, "ISS0002", series_id)
    assert r.status_code == 200, r.text
    card = await get_card(tenant, "ISS0002")
    assert card["cardId"] == card_id
    assert card["customerId"] == customer_id
    assert card["statusInfo"]["status"] == "ACTIVE"


async def test_issuing_with_a_label_uses_that_label(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    label_id = await add_card_label(tenant, "ACTIVE", "Welcome")
    customer_id = await add_customer(tenant)
    r = await tenant.http.post(
        f"/v2/customers/{customer_id}/changeIdentifier",
        json={
            "add": [
                {
                    "type": "cardnumber",
                    "value": "ISS0003",
                    "seriesId": series_id,
                    "statusLabel": "Welcome",
                }
            ]
        },
    )
    assert r.status_code == 200, r.text
    card = await get_card(tenant, "ISS0003")
    assert card["statusLabel"] == "Welcome"
    assert card["statusInfo"]["labelId"] == label_id


async def test_issuing_a_new_card_in_unknown_series_is_3004(tenant: Tenant) -> None:
    customer_id = await add_customer(tenant)
    r = await issue(tenant, customer_id, "ISS0004", 987654)
    assert_error(r, 400, 3004)
    r = await tenant.http.get("/v2/card", params={"number": "ISS0004"})
    assert_error(r, 404, 3010)


async def test_issuing_an_existing_card_with_another_series_is_refused(tenant: Tenant) -> None:
    gold = await add_series(tenant, "GOLD")
    silver = await add_series(tenant, "SILVER")
    await add_card(tenant, "ISS0005", gold)
    customer_id = await add_customer(tenant)
    r = await issue(tenant, customer_id, "ISS0005", silver)
    assert_error(r, 400, 3000)
    assert (await get_card(tenant, "ISS0005"))["customerId"] == 0


async def test_card_issued_to_another_customer_is_3027(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    first = await add_customer(tenant, "919988776655")
    second = await add_customer(tenant, "919988776656")
    r = await issue(tenant, first, "ISS0006", series_id)
    assert r.status_code == 200, r.text
    r = await issue(tenant, second, "ISS0006", series_id)
    assert_error(r, 400, 3027)
    card = await get_card(tenant, "ISS0006")
    assert card["customerId"] == first
    r = await tenant.http.get(f"/v2/customers/{second}")
    assert r.status_code == 200, r.text
    assert all(i["type"] != "cardnumber" for p in r.json()["profiles"] for i in p["identifiers"])


async def test_add_card_for_a_customer_when_issued_elsewhere_is_refused(tenant: Tenant) -> None:
    """A number already issued is refused as a duplicate (3009) on POST."""
    series_id = await add_series(tenant)
    first = await add_customer(tenant, "919988776655")
    second = await add_customer(tenant, "919988776656")
    assert (await issue(tenant, first, "ISS0007", series_id)).status_code == 200
    r = await tenant.http.post(
        "/v2/card", json={"cardNumber": "ISS0007", "seriesId": series_id, "customerId": second}
    )
    assert_error(r, 400, 3009)
    assert (await get_card(tenant, "ISS0007"))["customerId"] == first


async def test_removing_the_cardnumber_returns_the_card_to_not_issued(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    customer_id = await add_customer(tenant)
    assert (await issue(tenant, customer_id, "ISS0008", series_id)).status_code == 200
    r = await tenant.http.post(
        f"/v2/customers/{customer_id}/changeIdentifier",
        json={"remove": [{"type": "cardnumber", "value": "ISS0008"}]},
    )
    assert r.status_code == 200, r.text
    card = await get_card(tenant, "ISS0008")
    assert card["customerId"] == 0
    assert card["statusInfo"]["status"] == "NOT_ISSUED"
    # ... and it can then be issued to someone else.
    other = await add_customer(tenant, "919988776657")
    assert (await issue(tenant, other, "ISS0008", series_id)).status_code == 200
    assert (await get_card(tenant, "ISS0008"))["customerId"] == other


async def test_issuing_the_same_card_twice_to_one_customer_changes_nothing(
    tenant: Tenant,
) -> None:
    series_id = await add_series(tenant)
    customer_id = await add_customer(tenant)
    assert (await issue(tenant, customer_id, "ISS0009", series_id)).status_code == 200
    card = await get_card(tenant, "ISS0009")
    card_entries = await audit_count(tenant, "CARD", card["cardId"])
    customer_entries = await audit_count(tenant, "CUSTOMER", customer_id)
    r = await issue(tenant, customer_id, "ISS0009", series_id)
    assert r.status_code == 200, r.text
    assert [w["code"] for w in r.json()["warnings"]] == [8071]
    assert await audit_count(tenant, "CARD", card["cardId"]) == card_entries
    assert await audit_count(tenant, "CUSTOMER", customer_id) == customer_entries


# -- card custom and extended fields --------------------------------------------------------
async def test_card_fields_are_stored_as_strings_and_updated(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    await define_field(tenant, "custom", "vehicle_type")
    await define_field(tenant, "extended", "vehicle_number")
    await define_field(tenant, "extended", "km", data_type="integer", audit=False)
    await define_field(tenant, "custom", "fee", data_type="double", audit=False)
    await define_field(tenant, "custom", "primary_card", data_type="boolean", audit=False)
    await add_card(
        tenant,
        "FLD0001",
        series_id,
        customFields={"vehicle_type": "Car", "fee": 20, "primary_card": True},
        extendedFields={"vehicle_number": "KA01B2020", "km": "1200"},
    )
    card = await get_card(tenant, "FLD0001")
    assert card["customFields"] == {"vehicle_type": "Car", "fee": "20.0", "primary_card": "true"}
    assert card["extendedFields"] == {"vehicle_number": "KA01B2020", "km": "1200"}

    r = await tenant.http.put(
        "/v2/card",
        json={
            "cardNumber": "FLD0001",
            "customFields": {"vehicle_type": "Bike"},
            "extendedFields": {"km": 1500},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["customFields"]["vehicle_type"] == "Bike"
    assert r.json()["extendedFields"]["km"] == "1500"
    card = await get_card(tenant, "FLD0001")
    assert card["customFields"] == {"vehicle_type": "Bike", "fee": "20.0", "primary_card": "true"}
    assert card["extendedFields"] == {"vehicle_number": "KA01B2020", "km": "1500"}


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"customFields": {"nope": "x"}}, "customFields.nope"),
        ({"extendedFields": {"nope": "x"}}, "extendedFields.nope"),
        ({"extendedFields": {"km": "many"}}, "extendedFields.km"),
        ({"extendedFields": {"km": 1.5}}, "extendedFields.km"),
        ({"customFields": {"vehicle_type": {"a": 1}}}, "customFields.vehicle_type"),
        ({"customFields": {"vehicle_type": None}}, "customFields.vehicle_type"),
        ({"customFields": {"km": "12"}}, "customFields.km"),
        ({"customFields": {"city": "Pune"}}, "customFields.city"),
    ],
    ids=[
        "undefined-custom",
        "undefined-extended",
        "integer-text",
        "integer-float",
        "object-value",
        "null-value",
        "extended-name-as-custom",
        "customer-field-on-card",
    ],
)
async def test_bad_card_field_is_400_naming_it_and_adds_no_card(
    tenant: Tenant, fields: dict[str, Any], name: str
) -> None:
    series_id = await add_series(tenant)
    await define_field(tenant, "custom", "vehicle_type")
    await define_field(tenant, "extended", "km", data_type="integer")
    await define_field(tenant, "custom", "city", entity_type="CUSTOMER")
    r = await tenant.http.post(
        "/v2/card", json={"cardNumber": "FLD0002", "seriesId": series_id, **fields}
    )
    assert_error(r, 400, 400, name)
    # The whole request failed: no card, no audit entry was left behind.
    r = await tenant.http.get("/v2/card", params={"number": "FLD0002"})
    assert_error(r, 404, 3010)


async def test_bad_card_field_on_put_changes_nothing(tenant: Tenant) -> None:
    series_id = await add_series(tenant)
    await define_field(tenant, "custom", "vehicle_type")
    await define_field(tenant, "extended", "km", data_type="integer")
    card_id = await add_card(tenant, "FLD0003", series_id, customFields={"vehicle_type": "Car"})
    entries = await audit_count(tenant, "CARD", card_id)
    r = await tenant.http.put(
        "/v2/card",
        json={
            "cardNumber": "FLD0003",
            "statusLabel": "SUSPENDED",
            "customFields": {"vehicle_type": "Bike"},
            "extendedFields": {"km": "lots"},
        },
    )
    assert_error(r, 400, 400, "extendedFields.km")
    card = await get_card(tenant, "FLD0003")
    assert card["statusLabel"] == "NOT_ISSUED"
    assert card["customFields"] == {"vehicle_type": "Car"}
    assert card["extendedFields"] == {}
    assert await audit_count(tenant, "CARD", card_id) == entries


# -- no input gets a 500 (SPEC §1) ----------------------------------------------------------
BIGINT_OVERFLOW = 2**63
HUGE = 2**80


def assert_refused(r: httpx.Response) -> None:
    """Bad input is a 4xx with the error envelope, never a 500."""
    assert r.status_code in (400, 404), (r.status_code, r.text)
    body = r.json()
    assert body["warnings"] == []
    assert body["errors"][0]["status"] is False


@pytest.mark.parametrize(
    "extra",
    [
        {"seriesId": BIGINT_OVERFLOW},
        {"seriesId": HUGE},
        {"seriesCode": "GOLD", "customerId": BIGINT_OVERFLOW},
        {"seriesCode": "GOLD", "customerId": HUGE},
    ],
    ids=["series-id-2^63", "series-id-2^80", "customer-id-2^63", "customer-id-2^80"],
)
async def test_add_card_with_out_of_range_id_is_refused_not_500(
    tenant: Tenant, extra: dict[str, Any]
) -> None:
    await add_series(tenant, "GOLD")
    r = await tenant.http.post("/v2/card", json={"cardNumber": "BIG0001", **extra})
    assert_refused(r)
    r = await tenant.http.get("/v2/card", params={"number": "BIG0001"})
    assert_error(r, 404, 3010)


@pytest.mark.parametrize("card_id", [BIGINT_OVERFLOW, HUGE], ids=["2^63", "2^80"])
async def test_put_card_with_out_of_range_card_id_is_refused_not_500(
    tenant: Tenant, card_id: int
) -> None:
    r = await tenant.http.put("/v2/card", json={"cardId": card_id, "statusLabel": "ACTIVE"})
    assert_refused(r)


@pytest.mark.parametrize("series_id", [BIGINT_OVERFLOW, HUGE], ids=["2^63", "2^80"])
async def test_change_identifier_with_out_of_range_series_id_is_refused_not_500(
    tenant: Tenant, series_id: int
) -> None:
    customer_id = await add_customer(tenant)
    r = await issue(tenant, customer_id, "BIG0002", series_id)
    assert_refused(r)
    r = await tenant.http.get("/v2/card", params={"number": "BIG0002"})
    assert_error(r, 404, 3010)


@pytest.mark.parametrize("series_id", [BIGINT_OVERFLOW, HUGE], ids=["2^63", "2^80"])
async def test_add_customer_with_card_of_out_of_range_series_is_refused_not_500(
    tenant: Tenant, series_id: int
) -> None:
    r = await tenant.http.post(
        "/v2/customers",
        json={
            "profiles": [
                {
                    "identifiers": [
                        {"type": "mobile", "value": "919988776600"},
                        {"type": "cardnumber", "value": "BIG0003", "seriesId": series_id},
                    ]
                }
            ]
        },
    )
    assert_refused(r)


CONTROL_NUMBERS = pytest.mark.parametrize(
    "number", ["GOLD\x000001", "GOLD\x01"], ids=["nul", "control"]
)


@CONTROL_NUMBERS
async def test_get_card_with_control_characters_is_refused_not_500(
    tenant: Tenant, number: str
) -> None:
    await add_card(tenant, "GOLD0001", await add_series(tenant))
    r = await tenant.http.get("/v2/card", params={"number": number})
    assert_refused(r)


@CONTROL_NUMBERS
async def test_put_card_with_control_characters_is_refused_not_500(
    tenant: Tenant, number: str
) -> None:
    await add_card(tenant, "GOLD0001", await add_series(tenant))
    r = await tenant.http.put("/v2/card", json={"cardNumber": number, "statusLabel": "ACTIVE"})
    assert_refused(r)
    assert (await get_card(tenant, "GOLD0001"))["statusLabel"] == "NOT_ISSUED"


@CONTROL_NUMBERS
async def test_add_card_with_control_characters_is_400(tenant: Tenant, number: str) -> None:
    await add_series(tenant, "GOLD")
    r = await tenant.http.post("/v2/card", json={"cardNumber": number, "seriesCode": "GOLD"})
    assert_error(r, 400, 400, "cardNumber")
