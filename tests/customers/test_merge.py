"""Customer merge: POST /v2/requests, PUT /v2/requests, GET /v2/requests/{id}."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from tests.customers.helpers import (
    add_customer,
    assert_error,
    assert_ok,
    audit_count,
    card_number,
    change_identifier,
    create_series,
    decide,
    decision,
    email,
    external_id,
    get_card,
    get_customer,
    ident,
    identifiers_of,
    latest_entry,
    lookup_id,
    merge,
    merge_body,
    mobile,
    request_merge,
    set_status,
)
from tests.fixtures.factories import Tenant, basic, make_till, md5


async def get_request(t: Tenant, request_id: int) -> dict[str, Any]:
    return assert_ok(await t.http.get(f"/v2/requests/{request_id}"))


async def test_auto_approved_merge_moves_identifiers_to_the_survivor(tenant: Tenant) -> None:
    s_mobile, v_email, v_ext = mobile(), email(), external_id()
    survivor = await add_customer(tenant, ident("mobile", s_mobile), first_name="Sam")
    victim = await add_customer(
        tenant, ident("email", v_email), ident("externalId", v_ext), first_name="Vic"
    )
    r = await request_merge(tenant, survivor, victim)
    body = assert_ok(r)
    assert set(body) >= {"createdId", "warnings"}
    assert body["warnings"] == []
    request_id = body["createdId"]
    assert isinstance(request_id, int)
    assert await lookup_id(tenant, "email", v_email) == survivor
    assert await lookup_id(tenant, "externalId", v_ext) == survivor
    assert identifiers_of(await get_customer(tenant, survivor)) == [
        ("mobile", s_mobile),
        ("email", v_email),
        ("externalId", v_ext),
    ]
    victim_view = await get_customer(tenant, victim)
    assert identifiers_of(victim_view) == []
    assert 8069 in [w["code"] for w in victim_view["warnings"]]
    request = await get_request(tenant, request_id)
    assert request["status"] == "APPROVED"
    assert request["type"] == "CHANGE_IDENTIFIER"
    assert request["baseType"] == "MERGE"
    assert request["id"] == request_id


async def test_survivor_keeps_its_own_value_of_a_single_valued_identifier(
    tenant: Tenant,
) -> None:
    s_mobile, v_mobile, v_email = mobile(), mobile(), email()
    survivor = await add_customer(tenant, ident("mobile", s_mobile))
    victim = await add_customer(tenant, ident("mobile", v_mobile), ident("email", v_email))
    await merge(tenant, survivor, victim)
    assert identifiers_of(await get_customer(tenant, survivor)) == [
        ("mobile", s_mobile),
        ("email", v_email),
    ]
    assert await lookup_id(tenant, "mobile", s_mobile) == survivor
    assert await lookup_id(tenant, "email", v_email) == survivor
    assert identifiers_of(await get_customer(tenant, victim)) == [("mobile", v_mobile)]


async def test_merge_is_audited_on_both_customers(tenant: Tenant) -> None:
    s_mobile, v_mobile, v_email = mobile(), mobile(), email()
    survivor = await add_customer(tenant, ident("mobile", s_mobile), first_name="Sam")
    victim = await add_customer(
        tenant, ident("mobile", v_mobile), ident("email", v_email), first_name="Vic"
    )
    r = await request_merge(tenant, survivor, victim)
    assert_ok(r)
    s_entry = await latest_entry(tenant, survivor)
    v_entry = await latest_entry(tenant, victim)
    assert s_entry["requestId"] == v_entry["requestId"] == r.headers["x-cap-requestid"]
    victim_details = {
        "firstName": "Vic",
        "lastName": None,
        "email": v_email,
        "mobile": v_mobile,
        "externalId": None,
    }
    survivor_details = {
        "firstName": "Sam",
        "lastName": None,
        "email": None,
        "mobile": s_mobile,
        "externalId": None,
    }
    merge_event = {
        "eventType": "Customer Merge",
        "updatedField": "CustomerMerge",
        "additionalFields": {"victimId": str(victim), "survivorId": str(survivor)},
        "associateEntities": None,
    }
    for entry in (s_entry, v_entry):
        assert entry["victimUserDetails"] == victim_details
        assert entry["survivorUserDetails"] == survivor_details
        assert entry["updatedBy"] == tenant.till_id
    assert s_entry["events"] == [
        merge_event,
        {
            "eventType": "Identifiers",
            "updatedField": "email",
            "additionalFields": {"previousValue": "NA", "currentValue": v_email},
            "associateEntities": None,
        },
    ]
    assert v_entry["events"] == [
        merge_event,
        {
            "eventType": "Identifiers",
            "updatedField": "email",
            "additionalFields": {"previousValue": v_email, "currentValue": "NA"},
            "associateEntities": None,
        },
    ]


async def test_victims_cards_move_to_the_survivor(tenant: Tenant) -> None:
    series_id, _ = await create_series(tenant)
    number = card_number()
    survivor = await add_customer(tenant)
    victim = await add_customer(tenant)
    assert_ok(
        await change_identifier(
            tenant, victim, add=[ident("cardnumber", number, seriesId=series_id)]
        )
    )
    await merge(tenant, survivor, victim)
    assert (await get_card(tenant, number))["customerId"] == survivor
    assert await lookup_id(tenant, "cardnumber", number) == survivor
    assert ("cardnumber", number) in identifiers_of(await get_customer(tenant, survivor))


async def _merged_pair(t: Tenant) -> tuple[int, int, str]:
    """(survivor, victim, victim's mobile that stayed with the victim)."""
    v_mobile = mobile()
    survivor = await add_customer(t, ident("mobile", mobile()))
    victim = await add_customer(t, ident("mobile", v_mobile))
    await merge(t, survivor, victim)
    return survivor, victim, v_mobile


async def test_update_of_the_victim_is_8069(tenant: Tenant) -> None:
    survivor, victim, _ = await _merged_pair(tenant)
    count = await audit_count(tenant, victim)
    r = await tenant.http.put(f"/v2/customers/{victim}", json={"profiles": [{"firstName": "Z"}]})
    assert_error(r, 400, 8069, str(survivor))
    assert await audit_count(tenant, victim) == count


async def test_change_identifier_of_the_victim_is_8069(tenant: Tenant) -> None:
    survivor, victim, _ = await _merged_pair(tenant)
    e = email()
    r = await change_identifier(tenant, victim, add=[ident("email", e)])
    assert_error(r, 400, 8069, str(survivor))
    assert_error(
        await tenant.http.get(
            "/v2/customers/lookup", params={"identifierName": "email", "identifierValue": e}
        ),
        404,
        8015,
    )


async def test_subscriptions_of_the_victim_is_8069(tenant: Tenant) -> None:
    survivor, victim, _ = await _merged_pair(tenant)
    r = await tenant.http.post(
        f"/v2/customers/{victim}/subscriptions",
        json={"subscriptions": [{"channel": "EMAIL", "priority": "TRANS", "type": "OPTIN"}]},
    )
    assert_error(r, 400, 8069, str(survivor))


async def test_status_of_the_victim_is_8069(tenant: Tenant) -> None:
    survivor, victim, v_mobile = await _merged_pair(tenant)
    assert_error(
        await set_status(tenant, "mobile", v_mobile, "SUSPENDED"), 400, 8069, str(survivor)
    )
    assert (await get_customer(tenant, victim))["statusLabel"] == "ACTIVE"


async def test_update_by_lookup_of_the_victim_is_8069(tenant: Tenant) -> None:
    _, victim, v_mobile = await _merged_pair(tenant)
    r = await tenant.http.put(
        "/v2/customers/lookup",
        params={"identifierName": "mobile", "identifierValue": v_mobile},
        json={"profiles": [{"firstName": "Z"}]},
    )
    assert_error(r, 400, 8069)
    assert (await get_customer(tenant, victim))["profiles"][0]["firstName"] == "Test"


async def test_writes_by_a_moved_identifier_reach_the_survivor(tenant: Tenant) -> None:
    v_email = email()
    survivor = await add_customer(tenant, first_name="Sam")
    victim = await add_customer(tenant, ident("email", v_email))
    await merge(tenant, survivor, victim)
    r = await tenant.http.put(
        "/v2/customers/lookup",
        params={"identifierName": "email", "identifierValue": v_email},
        json={"profiles": [{"lastName": "Merged"}]},
    )
    assert assert_ok(r)["createdId"] == survivor
    assert (await get_customer(tenant, survivor))["profiles"][0]["lastName"] == "Merged"


# -- pending requests -------------------------------------------------------------------
async def test_without_auto_approve_the_request_is_pending(tenant: Tenant) -> None:
    v_email = email()
    survivor = await add_customer(tenant)
    victim = await add_customer(tenant, ident("email", v_email))
    r = await request_merge(tenant, survivor, victim, auto=False, comments="duplicate")
    request_id = assert_ok(r)["createdId"]
    request = await get_request(tenant, request_id)
    assert request["status"] == "PENDING"
    assert request["userId"] == victim
    assert request["comments"] == "duplicate"
    assert request["changeIdentifierRequest"]["changeIdentifiers"] == {
        "add": [{"type": "id", "value": str(survivor)}],
        "remove": [{"type": "id", "value": str(victim)}],
    }
    assert await lookup_id(tenant, "email", v_email) == victim
    assert await audit_count(tenant, victim) == 1
    assert await audit_count(tenant, survivor) == 1
    # A pending victim is still writable.
    assert_ok(
        await tenant.http.put(f"/v2/customers/{victim}", json={"profiles": [{"lastName": "P"}]})
    )


async def test_approving_a_pending_request_merges(tenant: Tenant) -> None:
    v_email = email()
    survivor = await add_customer(tenant)
    victim = await add_customer(tenant, ident("email", v_email))
    request_id = assert_ok(await request_merge(tenant, survivor, victim, auto=False))["createdId"]
    r = await decide(tenant, decision(request_id, "APPROVED"))
    assert assert_ok(r) == {
        "response": [{"entityId": request_id, "result": True, "warnings": []}],
        "totalCount": 1,
        "failureCount": 0,
    }
    assert (await get_request(tenant, request_id))["status"] == "APPROVED"
    assert await lookup_id(tenant, "email", v_email) == survivor
    entry = await latest_entry(tenant, victim)
    assert entry["requestId"] == r.headers["x-cap-requestid"]
    assert entry["events"][0]["eventType"] == "Customer Merge"


async def test_rejecting_a_pending_request_changes_nothing(tenant: Tenant) -> None:
    v_email = email()
    survivor = await add_customer(tenant)
    victim = await add_customer(tenant, ident("email", v_email))
    request_id = assert_ok(await request_merge(tenant, survivor, victim, auto=False))["createdId"]
    body = assert_ok(await decide(tenant, decision(request_id, "REJECTED")))
    assert body["failureCount"] == 0
    assert (await get_request(tenant, request_id))["status"] == "REJECTED"
    assert await lookup_id(tenant, "email", v_email) == victim
    assert await audit_count(tenant, victim) == 1
    assert await audit_count(tenant, survivor) == 1
    # The pair is free again.
    assert_ok(await request_merge(tenant, survivor, victim))
    assert await lookup_id(tenant, "email", v_email) == survivor


@pytest.mark.parametrize("second", ["APPROVED", "REJECTED"])
async def test_deciding_twice_is_an_item_error(tenant: Tenant, second: str) -> None:
    survivor = await add_customer(tenant)
    victim = await add_customer(tenant)
    request_id = assert_ok(await request_merge(tenant, survivor, victim, auto=False))["createdId"]
    assert_ok(await decide(tenant, decision(request_id, "APPROVED")))
    count = await audit_count(tenant, victim)
    body = assert_ok(await decide(tenant, decision(request_id, second)))
    assert body["failureCount"] == 1
    assert body["totalCount"] == 1
    item = body["response"][0]
    assert item["entityId"] == request_id
    assert item["errors"][0]["status"] is False
    assert "APPROVED" in item["errors"][0]["message"]
    assert (await get_request(tenant, request_id))["status"] == "APPROVED"
    assert await audit_count(tenant, victim) == count


async def test_decision_with_bad_type_is_an_item_error(tenant: Tenant) -> None:
    survivor = await add_customer(tenant)
    victim = await add_customer(tenant)
    request_id = assert_ok(await request_merge(tenant, survivor, victim, auto=False))["createdId"]
    body = assert_ok(
        await decide(
            tenant,
            decision(request_id, type="ADD_IDENTIFIER"),
            {**decision(request_id), "baseType": "SPLIT"},
        )
    )
    assert body["failureCount"] == 2
    assert [item["errors"][0]["code"] for item in body["response"]] == [9006, 9008]
    assert (await get_request(tenant, request_id))["status"] == "PENDING"


async def test_unknown_request_in_a_batch_is_an_item_error(tenant: Tenant) -> None:
    v_email = email()
    survivor = await add_customer(tenant)
    victim = await add_customer(tenant, ident("email", v_email))
    request_id = assert_ok(await request_merge(tenant, survivor, victim, auto=False))["createdId"]
    r = await decide(tenant, decision(request_id), decision(987654321))
    body = assert_ok(r)
    assert body["totalCount"] == 2
    assert body["failureCount"] == 1
    assert body["response"][0] == {"entityId": request_id, "result": True, "warnings": []}
    assert body["response"][1]["entityId"] == 987654321
    assert body["response"][1]["errors"][0]["code"] == 9050
    assert (await get_request(tenant, request_id))["status"] == "APPROVED"
    assert await lookup_id(tenant, "email", v_email) == survivor


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ([], "at least one"),
        ({}, "list"),
        ([{"type": "CHANGE_IDENTIFIER", "baseType": "MERGE", "id": 1}], "[0].status"),
        ([{"type": "CHANGE_IDENTIFIER", "baseType": "MERGE", "status": "APPROVED"}], "[0].id"),
        ([decision(1, "MAYBE")], "[0].status"),
        ([{**decision(1), "id": "one"}], "[0].id"),
        ([{**decision(1), "id": 0}], "[0].id"),
        ([{**decision(1), "id": 10**20}], "[0].id"),
        ([decision(1)] * 101, "100"),
    ],
    ids=[
        "empty",
        "object",
        "no-status",
        "no-id",
        "bad-status",
        "id-string",
        "id-zero",
        "id-huge",
        "too-many",
    ],
)
async def test_decision_body_errors(tenant: Tenant, body: Any, fragment: str) -> None:
    assert_error(await tenant.http.put("/v2/requests", json=body), 400, 400, fragment)


# -- request errors ----------------------------------------------------------------------
async def test_request_type_must_be_change_identifier_9006(tenant: Tenant) -> None:
    survivor, victim = await add_customer(tenant), await add_customer(tenant)
    body = {**merge_body(survivor, victim), "type": "ADD_IDENTIFIER"}
    r = await tenant.http.post("/v2/requests", json=body, params={"client_auto_approve": "true"})
    assert_error(r, 400, 9006, "ADD_IDENTIFIER")
    assert await audit_count(tenant, victim) == 1


async def test_base_type_must_be_merge_9008(tenant: Tenant) -> None:
    survivor, victim = await add_customer(tenant), await add_customer(tenant)
    body = {**merge_body(survivor, victim), "baseType": "SPLIT"}
    r = await tenant.http.post("/v2/requests", json=body, params={"client_auto_approve": "true"})
    assert_error(r, 400, 9008, "SPLIT")


@pytest.mark.parametrize(
    ("add", "remove"),
    [
        (None, None),
        ([], []),
        (["survivor"], None),
        (None, ["victim"]),
        (["mobile"], []),
    ],
    ids=["none", "empty", "only-survivor", "only-victim", "no-id-type"],
)
async def test_missing_survivor_or_victim_is_9019(
    tenant: Tenant, add: list[str] | None, remove: list[str] | None
) -> None:
    survivor, victim = await add_customer(tenant), await add_customer(tenant)
    items = {
        "survivor": {"type": "id", "value": str(survivor)},
        "victim": {"type": "id", "value": str(victim)},
        "mobile": {"type": "mobile", "value": mobile()},
    }
    body: dict[str, Any] = {"type": "CHANGE_IDENTIFIER", "baseType": "MERGE"}
    if add is not None or remove is not None:
        change: dict[str, Any] = {}
        if add is not None:
            change["add"] = [items[name] for name in add]
        if remove is not None:
            change["remove"] = [items[name] for name in remove]
        body["changeIdentifiers"] = change
    r = await tenant.http.post("/v2/requests", json=body, params={"client_auto_approve": "true"})
    assert_error(r, 400, 9019)
    assert await audit_count(tenant, victim) == 1


async def test_victim_may_be_named_by_customer_id_or_user_id(tenant: Tenant) -> None:
    e, x = email(), external_id()
    survivor = await add_customer(tenant)
    victim1 = await add_customer(tenant, ident("email", e))
    victim2 = await add_customer(tenant, ident("externalId", x))
    add = {"add": [{"type": "id", "value": str(survivor)}]}
    for body in (
        {"type": "CHANGE_IDENTIFIER", "baseType": "MERGE", "customer": {"id": victim1}},
        {"type": "CHANGE_IDENTIFIER", "baseType": "MERGE", "userId": victim2},
    ):
        r = await tenant.http.post(
            "/v2/requests",
            json={**body, "changeIdentifiers": add},
            params={"client_auto_approve": "true"},
        )
        assert_ok(r)
    assert await lookup_id(tenant, "email", e) == survivor
    assert await lookup_id(tenant, "externalId", x) == survivor
    for victim in (victim1, victim2):
        assert (await get_customer(tenant, victim))["warnings"][0]["code"] == 8069


async def test_same_survivor_and_victim_is_9029(tenant: Tenant) -> None:
    customer = await add_customer(tenant)
    assert_error(await request_merge(tenant, customer, customer), 400, 9029)
    assert await audit_count(tenant, customer) == 1


@pytest.mark.parametrize("role", ["survivor", "victim"])
async def test_unknown_customer_is_9007(tenant: Tenant, role: str) -> None:
    known = await add_customer(tenant)
    survivor, victim = (987654321, known) if role == "survivor" else (known, 987654321)
    assert_error(await request_merge(tenant, survivor, victim), 400, 9007, role)
    assert await audit_count(tenant, known) == 1


@pytest.mark.parametrize("value", ["abc", "1.5", "-4", "0", "99999999999999999999", "1e3", "", " "])
async def test_invalid_customer_id_value_is_refused(tenant: Tenant, value: str) -> None:
    known = await add_customer(tenant)
    assert_error(await request_merge(tenant, value, known), 400, (9007, 9019, 400))
    assert_error(await request_merge(tenant, known, value), 400, (9007, 9019, 400))
    assert await audit_count(tenant, known) == 1


@pytest.mark.parametrize(
    "extra",
    [{"userId": 10**20}, {"customer": {"id": 10**20}}, {"userId": "x"}, {"customer": {"id": -1}}],
    ids=["huge-user-id", "huge-customer-id", "string-user-id", "negative-customer-id"],
)
async def test_out_of_range_victim_reference_is_400(tenant: Tenant, extra: dict[str, Any]) -> None:
    survivor = await add_customer(tenant)
    body = {
        "type": "CHANGE_IDENTIFIER",
        "baseType": "MERGE",
        "changeIdentifiers": {"add": [{"type": "id", "value": str(survivor)}]},
        **extra,
    }
    r = await tenant.http.post("/v2/requests", json=body, params={"client_auto_approve": "true"})
    assert_error(r, 400, (400, 9007))
    assert await audit_count(tenant, survivor) == 1


async def test_customer_of_another_org_is_9007(tenant: Tenant, make_tenant: Any) -> None:
    other: Tenant = await make_tenant()
    foreign = await add_customer(other)
    mine = await add_customer(tenant)
    assert_error(await request_merge(tenant, mine, foreign), 400, 9007)
    assert_error(await request_merge(tenant, foreign, mine), 400, 9007)
    assert (await get_customer(other, foreign))["warnings"] == []


async def test_victim_already_merged_is_9027(tenant: Tenant) -> None:
    survivor, victim, _ = await _merged_pair(tenant)
    third = await add_customer(tenant)
    assert_error(await request_merge(tenant, third, victim), 400, 9027)
    assert_error(await request_merge(tenant, survivor, victim), 400, 9027)


async def test_survivor_already_merged_is_9023(tenant: Tenant) -> None:
    _, victim, _ = await _merged_pair(tenant)
    third = await add_customer(tenant)
    assert_error(await request_merge(tenant, victim, third), 400, 9023)
    assert await audit_count(tenant, third) == 1


async def test_pending_request_for_the_victim_is_9018(tenant: Tenant) -> None:
    survivor = await add_customer(tenant)
    victim = await add_customer(tenant)
    other = await add_customer(tenant)
    assert_ok(await request_merge(tenant, survivor, victim, auto=False))
    assert_error(await request_merge(tenant, other, victim), 400, 9018)
    assert_error(await request_merge(tenant, other, victim, auto=False), 400, 9018)


async def test_pending_request_for_the_survivor_is_9026(tenant: Tenant) -> None:
    survivor = await add_customer(tenant)
    victim = await add_customer(tenant)
    other = await add_customer(tenant)
    assert_ok(await request_merge(tenant, survivor, victim, auto=False))
    assert_error(await request_merge(tenant, survivor, other), 400, 9026)


async def test_get_unknown_request_is_9050(tenant: Tenant) -> None:
    assert_error(await tenant.http.get("/v2/requests/987654321"), 404, 9050)


async def test_get_another_orgs_request_is_9050(tenant: Tenant, make_tenant: Any) -> None:
    other: Tenant = await make_tenant()
    survivor, victim = await add_customer(other), await add_customer(other)
    request_id = assert_ok(await request_merge(other, survivor, victim, auto=False))["createdId"]
    assert_error(await tenant.http.get(f"/v2/requests/{request_id}"), 404, 9050)
    # Deciding it from here fails (as a whole or as the item) and changes nothing.
    r = await decide(tenant, decision(request_id))
    if r.status_code == 200:
        body = r.json()
        assert body["failureCount"] == 1
        assert body["response"][0]["errors"][0]["code"] == 9050
    else:
        assert_error(r, 404, 9050)
    assert (await get_request(other, request_id))["status"] == "PENDING"
    assert await audit_count(other, victim) == 1


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", str(2**63)])
async def test_get_request_with_invalid_id_is_400(tenant: Tenant, bad_id: str) -> None:
    assert_error(await tenant.http.get(f"/v2/requests/{bad_id}"), 400, 400, "'id'")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"baseType": "MERGE"}, "type"),
        ({"type": "CHANGE_IDENTIFIER"}, "baseType"),
        ({"type": 1, "baseType": "MERGE"}, "type"),
        (
            {"type": "CHANGE_IDENTIFIER", "baseType": "MERGE", "changeIdentifiers": []},
            "changeIdentifiers",
        ),
        (
            {
                "type": "CHANGE_IDENTIFIER",
                "baseType": "MERGE",
                "changeIdentifiers": {"add": [{"type": "id"}]},
            },
            "changeIdentifiers.add[0].value",
        ),
        ([], "body"),
    ],
)
async def test_request_body_errors_name_the_field(tenant: Tenant, body: Any, fragment: str) -> None:
    assert_error(await tenant.http.post("/v2/requests", json=body), 400, 400, fragment)


async def test_request_with_malformed_json_is_400(tenant: Tenant) -> None:
    r = await tenant.http.post(
        "/v2/requests",
        content=b'{"type": "CHANGE_IDENTIFIER", "baseType": MERGE}',
        headers={"content-type": "application/json"},
    )
    assert_error(r, 400, 400, "JSON")


async def test_failed_merge_request_creates_no_request(tenant: Tenant) -> None:
    survivor = await add_customer(tenant)
    victim = await add_customer(tenant)
    assert_error(await request_merge(tenant, survivor, 987654321, auto=False), 400, 9007)
    # No pending request was left behind for the survivor.
    assert_ok(await request_merge(tenant, survivor, victim, auto=False))


# -- concurrency -------------------------------------------------------------------------
async def _concurrently(*calls: Any) -> list[httpx.Response]:
    responses: list[httpx.Response | None] = [None] * len(calls)

    async def run(i: int) -> None:
        responses[i] = await calls[i]()

    async with anyio.create_task_group() as tg:
        for i in range(len(calls)):
            tg.start_soon(run, i)
    return [r for r in responses if r is not None]


async def test_concurrent_merges_of_one_victim_merge_it_once(tenant: Tenant) -> None:
    v_email = email()
    s1 = await add_customer(tenant)
    s2 = await add_customer(tenant)
    victim = await add_customer(tenant, ident("email", v_email))
    responses = await _concurrently(
        lambda: request_merge(tenant, s1, victim), lambda: request_merge(tenant, s2, victim)
    )
    assert sorted(r.status_code for r in responses) == [200, 400], [r.text for r in responses]
    loser = next(r for r in responses if r.status_code == 400)
    assert_error(loser, 400, (9027, 9018))
    winner = s1 if responses[0].status_code == 200 else s2
    assert (await get_customer(tenant, victim))["mergedInto"] == winner
    assert await lookup_id(tenant, "email", v_email) == winner
    assert await audit_count(tenant, victim) == 2


async def test_crossed_concurrent_merges_do_not_deadlock(tenant: Tenant) -> None:
    a = await add_customer(tenant)
    b = await add_customer(tenant)
    responses = await _concurrently(
        lambda: request_merge(tenant, a, b), lambda: request_merge(tenant, b, a)
    )
    assert sorted(r.status_code for r in responses) == [200, 400], [r.text for r in responses]
    assert_error(next(r for r in responses if r.status_code == 400), 400, (9023, 9027, 9018, 9026))
    merged = [(await get_customer(tenant, c))["mergedInto"] for c in (a, b)]
    assert merged in ([None, a], [b, None])


async def test_concurrent_additions_of_one_email_give_it_to_one_customer(
    tenant: Tenant,
) -> None:
    e = email()
    first = await add_customer(tenant)
    second = await add_customer(tenant)
    responses = await _concurrently(
        lambda: change_identifier(tenant, first, add=[ident("email", e)]),
        lambda: change_identifier(tenant, second, add=[ident("email", e)]),
    )
    assert sorted(r.status_code for r in responses) == [200, 400], [r.text for r in responses]
    owner = first if responses[0].status_code == 200 else second
    loser = second if owner == first else first
    assert_error(next(r for r in responses if r.status_code == 400), 400, 8006, str(owner))
    assert await lookup_id(tenant, "email", e) == owner
    assert await audit_count(tenant, loser) == 1


async def test_a_request_answers_capillary_s_whole_shape_with_attribution(tenant: Tenant) -> None:
    """The keys of Capillary's sample, created and modified by the tills that did it,
    changeStatus PROCESSING while pending, oneStep as it happened."""
    survivor, victim = await add_customer(tenant), await add_customer(tenant)
    request_id = assert_ok(await request_merge(tenant, survivor, victim, auto=False))["createdId"]
    pending = await get_request(tenant, request_id)
    sample_keys = {"type", "baseType", "status", "attribution", "id", "orgId", "addedOn"}
    sample_keys |= {"userId", "changeIdentifierRequest", "oneStep", "warnings"}
    assert sample_keys <= set(pending), set(pending) ^ sample_keys
    change = pending["changeIdentifierRequest"]
    assert change["id"] == request_id and change["requestId"] == request_id
    assert change["userId"] == -1 and change["oneStep"] is False and pending["oneStep"] is False
    assert change["changeStatus"] == "PROCESSING"
    attribution = pending["attribution"]
    assert set(attribution) == {"createDate", "createdBy", "modifiedBy", "modifiedDate"}
    creator = attribution["createdBy"]
    assert creator["id"] == tenant.till_id and creator["code"] == tenant.till_code
    assert creator["type"] == "TILL" and creator["isActive"] is True
    assert attribution["modifiedBy"] == creator
    assert attribution["createDate"] == pending["addedOn"]

    # Another till of the org approves it: it is the one that modified the request.
    till_id, code, password = make_till(tenant.db, tenant.org_id)
    approver = basic(code, md5(password))
    r = await tenant.http.put("/v2/requests", json=[decision(request_id)], headers=approver)
    assert assert_ok(r)["failureCount"] == 0
    done = await get_request(tenant, request_id)
    assert done["attribution"]["createdBy"]["id"] == tenant.till_id
    assert done["attribution"]["modifiedBy"]["id"] == till_id
    assert done["attribution"]["modifiedBy"]["code"] == code
    assert done["changeIdentifierRequest"]["changeStatus"] == "SUCCESS"
    assert done["status"] == "APPROVED" and done["oneStep"] is False

    # Approved at creation: one step.
    other, gone = await add_customer(tenant), await add_customer(tenant)
    one = assert_ok(await request_merge(tenant, other, gone))["createdId"]
    assert (await get_request(tenant, one))["oneStep"] is True
