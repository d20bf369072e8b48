"""Org configuration under /v2/orgs/settings (SPEC §4): settings, labels, series, fields, groups."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.fixtures.factories import Tenant

SETTINGS = "/v2/orgs/settings"
CUSTOMER_STATUSES = [
    "ACTIVE",
    "SUSPENDED",
    "DELETED",
    "FRAUD_SUSPECTED",
    "FRAUD_CONFIRMED",
    "INTERNAL",
    "PENDING_DELETION",
]
CARD_STATUSES = ["NOT_ISSUED", "ISSUED", "ACTIVE", "SUSPENDED", "EXPIRED", "DELETED"]
AUDIT_LIMIT_MESSAGE = "Audit trail can be enabled for a maximum of 5 fields"


def mobile() -> str:
    return f"91{uuid.uuid4().int % 10**10:010d}"


def code(prefix: str = "S") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


def assert_error(r: httpx.Response, status: int, code: int, *names: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"warnings", "errors"}, body
    assert body["warnings"] == []
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["status"] is False
    assert error["code"] == code, error
    for name in names:
        assert name in error["message"], error["message"]
    message: str = error["message"]
    return message


async def ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def add_customer(t: Tenant) -> int:
    r = await t.http.post(
        "/v2/customers",
        json={"profiles": [{"identifiers": [{"type": "mobile", "value": mobile()}]}]},
    )
    return int((await ok(r))["createdId"])


# -- GET / PUT /v2/orgs/settings ---------------------------------------------------------
async def test_new_org_settings(tenant: Tenant) -> None:
    body = await ok(await tenant.http.get(SETTINGS))
    assert body["orgId"] == tenant.org_id
    assert body["timezone"] == "UTC"
    assert body["psiMaskingEnabled"] is False
    assert body["rateLimitPerMinute"] == 1000
    assert body["parentOrgId"] == -1
    assert isinstance(body["name"], str)
    assert body["name"]


async def test_org_created_with_a_timezone_reports_it(make_tenant: Any) -> None:
    t: Tenant = await make_tenant(timezone="Asia/Kolkata")
    body = await ok(await t.http.get(SETTINGS))
    assert body["timezone"] == "Asia/Kolkata"
    assert body["orgId"] == t.org_id


async def test_put_settings_any_subset(tenant: Tenant) -> None:
    body = await ok(await tenant.http.put(SETTINGS, json={"timezone": "Asia/Kolkata"}))
    assert body["timezone"] == "Asia/Kolkata"
    assert body["psiMaskingEnabled"] is False
    assert body["rateLimitPerMinute"] == 1000

    body = await ok(await tenant.http.put(SETTINGS, json={"psiMaskingEnabled": True}))
    assert body["timezone"] == "Asia/Kolkata"
    assert body["psiMaskingEnabled"] is True

    body = await ok(await tenant.http.put(SETTINGS, json={"rateLimitPerMinute": 250}))
    assert (body["timezone"], body["psiMaskingEnabled"], body["rateLimitPerMinute"]) == (
        "Asia/Kolkata",
        True,
        250,
    )

    body = await ok(
        await tenant.http.put(
            SETTINGS,
            json={
                "timezone": "America/New_York",
                "psiMaskingEnabled": False,
                "rateLimitPerMinute": 5000,
            },
        )
    )
    assert (body["timezone"], body["psiMaskingEnabled"], body["rateLimitPerMinute"]) == (
        "America/New_York",
        False,
        5000,
    )
    # an empty update changes nothing
    assert (await ok(await tenant.http.put(SETTINGS, json={}))) == body
    # and GET agrees with what PUT answered
    assert (await ok(await tenant.http.get(SETTINGS))) == body


@pytest.mark.parametrize("limit", [1, 1_000_000])
async def test_rate_limit_bounds_are_accepted(tenant: Tenant, limit: int) -> None:
    body = await ok(await tenant.http.put(SETTINGS, json={"rateLimitPerMinute": limit}))
    assert body["rateLimitPerMinute"] == limit


async def test_an_org_that_set_its_limit_to_one_can_set_it_back(tenant: Tenant) -> None:
    """The lowest limit throttles the org's other requests, never the settings write
    that undoes it (counted against at least 60 a minute)."""
    await ok(await tenant.http.put(SETTINGS, json={"rateLimitPerMinute": 1}))
    assert (await tenant.http.get(f"{SETTINGS}/cardSeries")).status_code == 200
    assert (await tenant.http.get(f"{SETTINGS}/cardSeries")).status_code == 429
    for limit in (1, 2, 1):  # changed again and again within the minute
        r = await tenant.http.put(SETTINGS, json={"rateLimitPerMinute": limit})
        assert r.status_code == 200, r.text
        assert r.headers["x-ratelimit-limit"] == "60"
    body = await ok(await tenant.http.put(SETTINGS, json={"rateLimitPerMinute": 1000}))
    assert body["rateLimitPerMinute"] == 1000
    assert (await tenant.http.get(f"{SETTINGS}/fields")).headers["x-ratelimit-limit"] == "1000"


async def test_the_floor_of_settings_writes_is_a_budget_too(tenant: Tenant) -> None:
    await ok(await tenant.http.put(SETTINGS, json={"rateLimitPerMinute": 1}))
    for _ in range(59):  # the first write above was one of the 60
        r = await tenant.http.put(SETTINGS, json={"psiMaskingEnabled": True})
        assert r.status_code == 200, r.text
    r = await tenant.http.put(SETTINGS, json={"psiMaskingEnabled": True})
    assert r.status_code == 429, r.text
    assert r.headers["x-ratelimit-limit"] == "60"


BAD_SETTINGS: list[tuple[dict[str, Any], str]] = [
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"timezone": "India Standard Time"}, "timezone"),
    ({"timezone": "+05:30"}, "timezone"),
    ({"timezone": ""}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"timezone": "Asia/" + "x" * 100}, "timezone"),
    ({"timezone": 5}, "timezone"),
    ({"timezone": "Z"}, "timezone"),
    ({"timezone": "z"}, "timezone"),
    ({"psiMaskingEnabled": "maybe"}, "psiMaskingEnabled"),
    ({"psiMaskingEnabled": 2}, "psiMaskingEnabled"),
    ({"psiMaskingEnabled": []}, "psiMaskingEnabled"),
    ({"psiMaskingEnabled": {}}, "psiMaskingEnabled"),
    ({"rateLimitPerMinute": 0}, "rateLimitPerMinute"),
    ({"rateLimitPerMinute": -1}, "rateLimitPerMinute"),
    ({"rateLimitPerMinute": 1_000_001}, "rateLimitPerMinute"),
    ({"rateLimitPerMinute": "abc"}, "rateLimitPerMinute"),
    ({"rateLimitPerMinute": 1.5}, "rateLimitPerMinute"),
    ({"rateLimitPerMinute": 10**30}, "rateLimitPerMinute"),
    # a boolean is never an integer, a number never a string, a string never either
    ({"rateLimitPerMinute": True}, "rateLimitPerMinute"),
    ({"rateLimitPerMinute": False}, "rateLimitPerMinute"),
    ({"rateLimitPerMinute": "600"}, "rateLimitPerMinute"),
    ({"rateLimitPerMinute": 600.0}, "rateLimitPerMinute"),
    ({"psiMaskingEnabled": 1}, "psiMaskingEnabled"),
    ({"psiMaskingEnabled": "true"}, "psiMaskingEnabled"),
    ({"timezone": True}, "timezone"),
    ({"timeZone": "UTC"}, "timeZone"),
    ({"orgId": 5}, "orgId"),
    ({"name": "renamed"}, "name"),
    ({"timezone": "UTC", "psiMasking": True}, "psiMasking"),
]


@pytest.mark.parametrize(("body", "name"), BAD_SETTINGS, ids=[str(b) for b, _ in BAD_SETTINGS])
async def test_bad_settings_are_400_and_change_nothing(
    tenant: Tenant, body: dict[str, Any], name: str
) -> None:
    before = await ok(await tenant.http.get(SETTINGS))
    r = await tenant.http.put(SETTINGS, json=body)
    assert_error(r, 400, 400, name)
    assert (await ok(await tenant.http.get(SETTINGS))) == before


@pytest.mark.parametrize("content", [b"[]", b'"UTC"', b"not json", b"null", b"{"])
async def test_settings_body_must_be_a_json_object(tenant: Tenant, content: bytes) -> None:
    r = await tenant.http.put(
        SETTINGS, content=content, headers={"Content-Type": "application/json"}
    )
    assert_error(r, 400, 400)


async def test_settings_timezone_is_used_for_audit_dates(tenant: Tenant) -> None:
    r = await tenant.http.post(
        "/v2/customers",
        json={"profiles": [{"identifiers": [{"type": "mobile", "value": mobile()}]}]},
    )
    customer = (await ok(r))["createdId"]
    audits = await ok(
        await tenant.http.get(
            "/api_gateway/v2/audits", params={"entityType": "CUSTOMER", "entityId": customer}
        )
    )
    at = audits["data"][0]["autoUpdateTime"]
    utc_text = datetime.fromtimestamp(at / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    params = {
        "entityType": "CUSTOMER",
        "entityId": customer,
        "startDate": utc_text,
        "endDate": utc_text,
    }
    found = await ok(await tenant.http.get("/api_gateway/v2/audits", params=params))
    assert found["pagination"]["totalElements"] == 1
    await ok(await tenant.http.put(SETTINGS, json={"timezone": "Asia/Kolkata"}))
    # the same wall-clock text now means 5h30 earlier
    found = await ok(await tenant.http.get("/api_gateway/v2/audits", params=params))
    assert found["pagination"]["totalElements"] == 0


# -- status labels -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "statuses"),
    [("customerStatusLabels", CUSTOMER_STATUSES), ("cardStatusLabels", CARD_STATUSES)],
)
async def test_new_org_has_one_default_label_per_status(
    tenant: Tenant, path: str, statuses: list[str]
) -> None:
    body = await ok(await tenant.http.get(f"{SETTINGS}/{path}"))
    labels = body["data"]
    assert sorted(label["status"] for label in labels) == sorted(statuses)
    for label in labels:
        assert label["label"] == label["status"]
        assert label["isDefault"] is True
        assert isinstance(label["labelId"], int)
    assert len({label["labelId"] for label in labels}) == len(statuses)


@pytest.mark.parametrize(
    ("path", "status"), [("customerStatusLabels", "ACTIVE"), ("cardStatusLabels", "ACTIVE")]
)
async def test_add_label(tenant: Tenant, path: str, status: str) -> None:
    before = (await ok(await tenant.http.get(f"{SETTINGS}/{path}")))["data"]
    body = await ok(
        await tenant.http.post(f"{SETTINGS}/{path}", json={"status": status, "label": "Gold"})
    )
    assert set(body) >= {"labelId"}
    label_id = body["labelId"]
    assert isinstance(label_id, int)
    after = (await ok(await tenant.http.get(f"{SETTINGS}/{path}")))["data"]
    assert len(after) == len(before) + 1
    created = next(label for label in after if label["labelId"] == label_id)
    assert created["status"] == status
    assert created["label"] == "Gold"
    # the default label of the status stays the default
    assert created["isDefault"] is False
    assert [label for label in after if label["labelId"] != label_id] == before


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("customerStatusLabels", "FOO"),
        ("customerStatusLabels", "NOT_ISSUED"),  # a card status
        ("customerStatusLabels", "EXPIRED"),
        ("customerStatusLabels", ""),
        ("cardStatusLabels", "FRAUD_SUSPECTED"),  # a customer status
        ("cardStatusLabels", "PENDING_DELETION"),
        ("cardStatusLabels", "BLOCKED"),
        ("cardStatusLabels", ""),
    ],
)
async def test_label_with_bad_status_is_400(tenant: Tenant, path: str, status: str) -> None:
    before = await ok(await tenant.http.get(f"{SETTINGS}/{path}"))
    r = await tenant.http.post(f"{SETTINGS}/{path}", json={"status": status, "label": "X1"})
    assert_error(r, 400, 400, "status")
    assert (await ok(await tenant.http.get(f"{SETTINGS}/{path}"))) == before


@pytest.mark.parametrize("path", ["customerStatusLabels", "cardStatusLabels"])
async def test_duplicate_label_is_400(tenant: Tenant, path: str) -> None:
    await ok(
        await tenant.http.post(f"{SETTINGS}/{path}", json={"status": "ACTIVE", "label": "VIP"})
    )
    for status in ("ACTIVE", "SUSPENDED"):
        r = await tenant.http.post(f"{SETTINGS}/{path}", json={"status": status, "label": "VIP"})
        assert_error(r, 400, 400, "label")
    # a default label's name is taken too
    r = await tenant.http.post(
        f"{SETTINGS}/{path}", json={"status": "SUSPENDED", "label": "ACTIVE"}
    )
    assert_error(r, 400, 400, "label")
    labels = (await ok(await tenant.http.get(f"{SETTINGS}/{path}")))["data"]
    assert [label["label"] for label in labels].count("VIP") == 1
    assert [label["label"] for label in labels].count("ACTIVE") == 1


@pytest.mark.parametrize("path", ["customerStatusLabels", "cardStatusLabels"])
@pytest.mark.parametrize(
    "body",
    [
        {"status": "ACTIVE"},
        {"label": "x"},
        {},
        {"status": "ACTIVE", "label": ""},
        {"status": "ACTIVE", "label": "x" * 101},
        {"status": "ACTIVE", "label": "x", "color": "red"},
        {"status": 1, "label": "x"},
        {"status": "ACTIVE", "label": None},
    ],
)
async def test_malformed_label_bodies_are_400(
    tenant: Tenant, path: str, body: dict[str, Any]
) -> None:
    r = await tenant.http.post(f"{SETTINGS}/{path}", json=body)
    assert_error(r, 400, 400)


async def test_new_customer_label_can_be_used(tenant: Tenant) -> None:
    label_id = (
        await ok(
            await tenant.http.post(
                f"{SETTINGS}/customerStatusLabels", json={"status": "SUSPENDED", "label": "On hold"}
            )
        )
    )["labelId"]
    number = mobile()
    r = await tenant.http.post(
        "/v2/customers", json={"profiles": [{"identifiers": [{"type": "mobile", "value": number}]}]}
    )
    customer = (await ok(r))["createdId"]
    r = await tenant.http.put(
        "/v2/customers/lookup/status",
        params={"identifierName": "mobile", "identifierValue": number, "source": "INSTORE"},
        json={"reason": "check", "label": "On hold"},
    )
    await ok(r)
    view = await ok(await tenant.http.get(f"/v2/customers/{customer}"))
    assert view["status"] == {"status": "SUSPENDED", "label": "On hold", "labelId": label_id}


async def test_new_card_label_can_be_used(tenant: Tenant) -> None:
    label_id = (
        await ok(
            await tenant.http.post(
                f"{SETTINGS}/cardStatusLabels", json={"status": "SUSPENDED", "label": "Lost"}
            )
        )
    )["labelId"]
    series = (
        await ok(
            await tenant.http.post(f"{SETTINGS}/cardSeries", json={"name": "S", "code": code()})
        )
    )["seriesId"]
    number = code("C")
    await ok(
        await tenant.http.post(
            "/v2/card", json={"cardNumber": number, "seriesId": series, "statusLabel": "Lost"}
        )
    )
    card = await ok(await tenant.http.get("/v2/card", params={"number": number}))
    assert card["statusLabel"] == "Lost"
    assert card["statusLabelInfo"]["id"] == label_id
    assert card["statusLabelInfo"]["status"] == "SUSPENDED"


# -- card series ------------------------------------------------------------------------------
async def test_card_series(tenant: Tenant) -> None:
    assert (await ok(await tenant.http.get(f"{SETTINGS}/cardSeries")))["data"] == []
    first_code, second_code = code(), code()
    first = await ok(
        await tenant.http.post(f"{SETTINGS}/cardSeries", json={"name": "Gold", "code": first_code})
    )
    second = await ok(
        await tenant.http.post(
            f"{SETTINGS}/cardSeries", json={"name": "Silver", "code": second_code}
        )
    )
    assert isinstance(first["seriesId"], int)
    assert first["seriesId"] != second["seriesId"]
    listed = (await ok(await tenant.http.get(f"{SETTINGS}/cardSeries")))["data"]
    assert listed == [
        {"seriesId": first["seriesId"], "name": "Gold", "code": first_code},
        {"seriesId": second["seriesId"], "name": "Silver", "code": second_code},
    ]
    # usable by POST /v2/card, by id and by code
    await ok(
        await tenant.http.post(
            "/v2/card", json={"cardNumber": code("C"), "seriesId": first["seriesId"]}
        )
    )
    r = await tenant.http.post(
        "/v2/card", json={"cardNumber": code("C"), "seriesCode": second_code}
    )
    card_id = (await ok(r))["entity"]
    assert isinstance(card_id, int)


async def test_duplicate_series_code_is_3002(tenant: Tenant) -> None:
    series_code = code()
    await ok(
        await tenant.http.post(f"{SETTINGS}/cardSeries", json={"name": "A", "code": series_code})
    )
    r = await tenant.http.post(f"{SETTINGS}/cardSeries", json={"name": "B", "code": series_code})
    assert_error(r, 400, 3002)
    listed = (await ok(await tenant.http.get(f"{SETTINGS}/cardSeries")))["data"]
    assert [s["name"] for s in listed] == ["A"]


async def test_same_series_code_in_two_orgs(make_tenant: Any) -> None:
    a: Tenant = await make_tenant()
    b: Tenant = await make_tenant()
    series_code = code()
    for t in (a, b):
        await ok(
            await t.http.post(f"{SETTINGS}/cardSeries", json={"name": "X", "code": series_code})
        )


@pytest.mark.parametrize(
    "body",
    [
        {"name": "A"},
        {"code": "A"},
        {},
        {"name": "", "code": "A"},
        {"name": "A", "code": ""},
        {"name": "A", "code": "x" * 101},
        {"name": "A", "code": "B", "extra": 1},
        {"name": ["A"], "code": "B"},
    ],
)
async def test_malformed_series_bodies_are_400(tenant: Tenant, body: dict[str, Any]) -> None:
    r = await tenant.http.post(f"{SETTINGS}/cardSeries", json=body)
    assert_error(r, 400, 400)
    assert (await ok(await tenant.http.get(f"{SETTINGS}/cardSeries")))["data"] == []


# -- fields ----------------------------------------------------------------------------------
def field(name: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entityType": "CUSTOMER",
        "kind": "custom",
        "name": name,
        "dataType": "string",
        "auditTrail": False,
        "psi": False,
    }
    body.update(extra)
    return body


async def test_add_and_list_fields(tenant: Tenant) -> None:
    assert (await ok(await tenant.http.get(f"{SETTINGS}/fields")))["data"] == []
    specs = [
        field("color", auditTrail=True),
        field("age", dataType="integer", kind="extended"),
        field("score", dataType="double", entityType="CARD", psi=True),
        field("vip", dataType="boolean", entityType="CARD", kind="extended", auditTrail=True),
        field("dob", dataType="date", psi=True, auditTrail=True),
    ]
    ids = []
    for spec in specs:
        body = await ok(await tenant.http.post(f"{SETTINGS}/fields", json=spec))
        assert isinstance(body["fieldId"], int)
        ids.append(body["fieldId"])
    assert len(set(ids)) == len(ids)
    listed = (await ok(await tenant.http.get(f"{SETTINGS}/fields")))["data"]
    assert listed == [{"fieldId": i, **spec} for i, spec in zip(ids, specs, strict=True)]


async def test_field_defaults(tenant: Tenant) -> None:
    body = {"entityType": "CUSTOMER", "kind": "custom", "name": "plain"}
    field_id = (await ok(await tenant.http.post(f"{SETTINGS}/fields", json=body)))["fieldId"]
    listed = (await ok(await tenant.http.get(f"{SETTINGS}/fields")))["data"]
    assert listed == [
        {
            "fieldId": field_id,
            "entityType": "CUSTOMER",
            "kind": "custom",
            "name": "plain",
            "dataType": "string",
            "auditTrail": False,
            "psi": False,
        }
    ]


@pytest.mark.parametrize(
    ("entity_type", "kind"),
    [("CUSTOMER", "custom"), ("CUSTOMER", "extended"), ("CARD", "custom"), ("CARD", "extended")],
)
async def test_at_most_five_audited_fields_per_entity_type_and_kind(
    tenant: Tenant, entity_type: str, kind: str
) -> None:
    for i in range(5):
        spec = field(f"f{i}", entityType=entity_type, kind=kind, auditTrail=True)
        await ok(await tenant.http.post(f"{SETTINGS}/fields", json=spec))
    sixth = field("f5", entityType=entity_type, kind=kind, auditTrail=True)
    r = await tenant.http.post(f"{SETTINGS}/fields", json=sixth)
    message = assert_error(r, 400, 400)
    assert message == AUDIT_LIMIT_MESSAGE
    # not audited: fine
    await ok(await tenant.http.post(f"{SETTINGS}/fields", json={**sixth, "auditTrail": False}))
    # every other (entityType, kind) still has its own five
    for other_type in ("CUSTOMER", "CARD"):
        for other_kind in ("custom", "extended"):
            if (other_type, other_kind) == (entity_type, kind):
                continue
            spec = field("other", entityType=other_type, kind=other_kind, auditTrail=True)
            await ok(await tenant.http.post(f"{SETTINGS}/fields", json=spec))
    listed = (await ok(await tenant.http.get(f"{SETTINGS}/fields")))["data"]
    audited = [
        f for f in listed if (f["entityType"], f["kind"]) == (entity_type, kind) and f["auditTrail"]
    ]
    assert len(audited) == 5
    assert len(listed) == 5 + 1 + 3


async def test_audited_field_limit_is_per_org(make_tenant: Any) -> None:
    a: Tenant = await make_tenant()
    b: Tenant = await make_tenant()
    for i in range(5):
        await ok(await a.http.post(f"{SETTINGS}/fields", json=field(f"f{i}", auditTrail=True)))
    for i in range(5):
        await ok(await b.http.post(f"{SETTINGS}/fields", json=field(f"f{i}", auditTrail=True)))


BAD_FIELDS: list[tuple[dict[str, Any], str]] = [
    (field("x", dataType="text"), "dataType"),
    (field("x", dataType="STRING_LIST"), "dataType"),
    (field("x", dataType=""), "dataType"),
    (field("x", kind="standard"), "kind"),
    (field("x", kind=""), "kind"),
    (field("x", entityType="STORE"), "entityType"),
    (field("x", entityType="customers"), "entityType"),
    (field("x", auditTrail="maybe"), "auditTrail"),
    (field("x", psi="sometimes"), "psi"),
    (field(""), "name"),
    (field("has space"), "name"),
    (field("1starts_with_digit"), "name"),
    (field("x" * 101), "name"),
    ({**field("x"), "color": "red"}, "color"),
    ({"kind": "custom", "name": "x"}, "entityType"),
    ({"entityType": "CUSTOMER", "name": "x"}, "kind"),
    ({"entityType": "CUSTOMER", "kind": "custom"}, "name"),
]


@pytest.mark.parametrize(("body", "name"), BAD_FIELDS, ids=[n for _, n in BAD_FIELDS])
async def test_bad_field_definitions_are_400(
    tenant: Tenant, body: dict[str, Any], name: str
) -> None:
    r = await tenant.http.post(f"{SETTINGS}/fields", json=body)
    assert_error(r, 400, 400, name)
    assert (await ok(await tenant.http.get(f"{SETTINGS}/fields")))["data"] == []


async def test_duplicate_field_is_400(tenant: Tenant) -> None:
    await ok(await tenant.http.post(f"{SETTINGS}/fields", json=field("color")))
    r = await tenant.http.post(f"{SETTINGS}/fields", json=field("color", dataType="integer"))
    assert_error(r, 400, 400, "color")
    r = await tenant.http.post(f"{SETTINGS}/fields", json=field("color", auditTrail=True))
    assert_error(r, 400, 400, "color")
    # the same name is free in another kind or entity type
    await ok(await tenant.http.post(f"{SETTINGS}/fields", json=field("color", kind="extended")))
    await ok(await tenant.http.post(f"{SETTINGS}/fields", json=field("color", entityType="CARD")))
    listed = (await ok(await tenant.http.get(f"{SETTINGS}/fields")))["data"]
    assert [(f["entityType"], f["kind"], f["name"]) for f in listed] == [
        ("CUSTOMER", "custom", "color"),
        ("CUSTOMER", "extended", "color"),
        ("CARD", "custom", "color"),
    ]


async def test_defined_field_is_usable_and_undefined_is_not(tenant: Tenant) -> None:
    await ok(await tenant.http.post(f"{SETTINGS}/fields", json=field("color", auditTrail=True)))
    r = await tenant.http.post(
        "/v2/customers",
        json={
            "profiles": [
                {
                    "identifiers": [{"type": "mobile", "value": mobile()}],
                    "fields": {"color": "red"},
                }
            ]
        },
    )
    customer = (await ok(r))["createdId"]
    view = await ok(await tenant.http.get(f"/v2/customers/{customer}"))
    assert view["profiles"][0]["fields"] == {"color": "red"}
    r = await tenant.http.post(
        "/v2/customers",
        json={
            "profiles": [
                {
                    "identifiers": [{"type": "mobile", "value": mobile()}],
                    "fields": {"size": "L"},
                }
            ]
        },
    )
    assert_error(r, 400, 400, "size")


# -- groups -------------------------------------------------------------------------------
async def test_groups(tenant: Tenant) -> None:
    assert (await ok(await tenant.http.get(f"{SETTINGS}/groups")))["data"] == []
    c1, c2, c3 = [await add_customer(tenant) for _ in range(3)]
    body = await ok(
        await tenant.http.post(
            f"{SETTINGS}/groups",
            json={"externalId": "fam-1", "name": "Family", "members": [c2, c1]},
        )
    )
    group_id = body["groupId"]
    assert isinstance(group_id, int)
    empty = await ok(
        await tenant.http.post(f"{SETTINGS}/groups", json={"externalId": "fam-2", "name": "Empty"})
    )
    listed = (await ok(await tenant.http.get(f"{SETTINGS}/groups")))["data"]
    assert [{k: g[k] for k in ("groupId", "externalId", "name", "members")} for g in listed] == [
        {"groupId": group_id, "externalId": "fam-1", "name": "Family", "members": sorted([c1, c2])},
        {"groupId": empty["groupId"], "externalId": "fam-2", "name": "Empty", "members": []},
    ]

    group = await ok(
        await tenant.http.put(
            f"{SETTINGS}/groups/fam-1/members", json={"add": [c3], "remove": [c1]}
        )
    )
    assert group["groupId"] == group_id
    assert group["externalId"] == "fam-1"
    assert group["name"] == "Family"
    assert sorted(group["members"]) == sorted([c2, c3])
    # adding a member twice, or one already in, keeps one membership
    group = await ok(
        await tenant.http.put(f"{SETTINGS}/groups/fam-1/members", json={"add": [c2, c3, c3]})
    )
    assert sorted(group["members"]) == sorted([c2, c3])
    group = await ok(
        await tenant.http.put(f"{SETTINGS}/groups/fam-1/members", json={"remove": [c2, c3]})
    )
    assert group["members"] == []
    listed = (await ok(await tenant.http.get(f"{SETTINGS}/groups")))["data"]
    assert [g["members"] for g in listed] == [[], []]


async def test_group_members_must_be_customers_of_the_org(make_tenant: Any) -> None:
    a: Tenant = await make_tenant()
    other: Tenant = await make_tenant()
    mine = await add_customer(a)
    foreign = await add_customer(other)
    for members in ([mine, 10**15], [foreign], [mine, foreign], [0], [-5]):
        r = await a.http.post(
            f"{SETTINGS}/groups", json={"externalId": "g", "name": "G", "members": members}
        )
        assert_error(r, 400, 400, "members")
    assert (await ok(await a.http.get(f"{SETTINGS}/groups")))["data"] == []

    await ok(
        await a.http.post(
            f"{SETTINGS}/groups", json={"externalId": "g", "name": "G", "members": [mine]}
        )
    )
    for add in ([foreign], [10**15], [mine, foreign]):
        r = await a.http.put(f"{SETTINGS}/groups/g/members", json={"add": add, "remove": [mine]})
        assert_error(r, 400, 400, "add")
    # a refused update changes nothing (not even its removals)
    listed = (await ok(await a.http.get(f"{SETTINGS}/groups")))["data"]
    assert [g["members"] for g in listed] == [[mine]]


async def test_duplicate_group_external_id_is_400(tenant: Tenant) -> None:
    await ok(await tenant.http.post(f"{SETTINGS}/groups", json={"externalId": "g1", "name": "A"}))
    r = await tenant.http.post(f"{SETTINGS}/groups", json={"externalId": "g1", "name": "B"})
    assert_error(r, 400, 400, "externalId")
    listed = (await ok(await tenant.http.get(f"{SETTINGS}/groups")))["data"]
    assert [g["name"] for g in listed] == ["A"]


@pytest.mark.parametrize("external_id", ["nope", "g%20x", "g1x"])
async def test_unknown_group_is_404(tenant: Tenant, external_id: str) -> None:
    await ok(await tenant.http.post(f"{SETTINGS}/groups", json={"externalId": "g1", "name": "A"}))
    r = await tenant.http.put(f"{SETTINGS}/groups/{external_id}/members", json={"add": []})
    assert_error(r, 404, 404)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "G"},
        {"externalId": "g"},
        {"externalId": "", "name": "G"},
        {"externalId": "g", "name": ""},
        {"externalId": "g", "name": "G", "members": "1,2"},
        {"externalId": "g", "name": "G", "members": ["abc"]},
        {"externalId": "g", "name": "G", "owner": 1},
    ],
)
async def test_malformed_group_bodies_are_400(tenant: Tenant, body: dict[str, Any]) -> None:
    r = await tenant.http.post(f"{SETTINGS}/groups", json=body)
    assert_error(r, 400, 400)
    assert (await ok(await tenant.http.get(f"{SETTINGS}/groups")))["data"] == []


@pytest.mark.parametrize(
    "body", [{"add": "1"}, {"remove": ["x"]}, {"add": [], "drop": []}, {"add": [1.5]}]
)
async def test_malformed_member_updates_are_400(tenant: Tenant, body: dict[str, Any]) -> None:
    await ok(await tenant.http.post(f"{SETTINGS}/groups", json={"externalId": "g1", "name": "A"}))
    r = await tenant.http.put(f"{SETTINGS}/groups/g1/members", json=body)
    assert_error(r, 400, 400)


# -- auth ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ""),
        ("PUT", ""),
        ("GET", "/customerStatusLabels"),
        ("POST", "/customerStatusLabels"),
        ("GET", "/cardStatusLabels"),
        ("POST", "/cardStatusLabels"),
        ("GET", "/cardSeries"),
        ("POST", "/cardSeries"),
        ("GET", "/fields"),
        ("POST", "/fields"),
        ("GET", "/groups"),
        ("POST", "/groups"),
        ("PUT", "/groups/g1/members"),
    ],
)
async def test_settings_need_credentials(http: httpx.AsyncClient, method: str, path: str) -> None:
    r = await http.request(method, SETTINGS + path, json={} if method != "GET" else None)
    assert_error(r, 401, 401, "Please check your username/password or authentication token")
