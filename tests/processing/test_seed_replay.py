"""Replaying every inputRequest of seeds/002 and seeds/004 against an org built like
Capillary's org 100737: each gets the seed's status and exact message, its log entry has
the seed's keys, and each success is stored with the record shape of seeds/000.

The seeds' order cannot be kept as is: TestBE-Rutuja fails for customer 917744876415
("customerId not present") after other events of the same customer succeeded. Here the
TestBE-Rutuja failures come first, before that customer is registered; everything else
is replayed in the seeds' chronological order, with the group membership changed where
the seeds imply it changed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from eventrail.db import Database
from tests.fixtures.factories import Tenant, basic, make_till, md5
from tests.fixtures.pipeline import (
    EMF_NO_CUSTOMER,
    NO_MAPPING,
    SUCCESS,
    add_customer,
    assert_log_shape,
    assert_record_shape,
    enable_auth,
    invalid_event_name,
    invalid_group,
    logs,
    lookup_customer,
    make_group,
    make_webhook,
    not_in_group,
    post,
    post_raw,
    records,
    set_members,
    tick,
)


@pytest.fixture(autouse=True)
def _empty_queue(drain: Callable[[], int]) -> None:
    """Requests another test left queued must not be counted as this test's."""
    drain()


# -- the seeds' inputRequests, verbatim --------------------------------------------------
# seeds/004
FE_RUTUJA = '{"event_name":"TestingEvent_FE_Rutuja","CustomerId":"917744876415"}'
EVENT_RUTUJA = '{"event_name":"Event_Rutuja","String":"rutuja_capillary","customer":"917744876415"}'
BE_NO_CUSTOMER = (
    '{"event_name":"TestBE-Rutuja","String":"rutuja_capillary","enum":"rutuja_capillary"}'
)
BE_UNKNOWN = '{"event_name":"TestBE-Rutuja","String":"rutuja_capillary","customer":"917744876415"}'
FE = '{"Customer":"917744876415","event_name":"TestingEvent_FE"}'
WITH_DATE = (
    '{"createdDate":"2025-05-08 17:33:01","event_name":"TestEventWithDate",'
    '"CustomerId":"917744876415"}'
)
GROUP_BAD_ID = (
    '{"event_name":"Group_User_Event","String":"rutuja_capillary","enum":"3854766",'
    '"customer":"919970388310"}'
)
GROUP = (
    '{"event_name":"Group_User_Event","String":"rutuja_capillary","enum":"customerUserGroup",'
    '"customer":"919970388310"}'
)
# seeds/002
GROUP_UNAUTHORIZED = (
    '{"event_name":"Group_User_Event","String":"aditi_khandelwal","enum":"customerUserGroup",'
    '"customer":"9148574269"}'
)
ABC_1 = (
    '{"event_name":"ABC_User_Event","String":"aditi_khandelwal","enum":"customerUserGroup",'
    '"customer":"9148574269"}'
)
ABC_2 = (
    '{"event_name":"ABC_User_Event","String":"aditi_khandelwal","enum":"customerUser",'
    '"customer":"9148574269"}'
)
EMPTY_NAME = '{"event_name":"","String":"","enum":"customerUserGroup","customer":""}'
EVENT_EVENT = (
    '{"event_name":"Event_event","String":"aditi_capillary","enum":"customerUserGroup",'
    '"customer":"919148574269"}'
)
CUSTOMER_ADDED = (
    '{"eventId":"ccf65d56-1e34-4282-b9ad-8fe3fe558b74","createdAt":1756882119609,"data":{'
    '"accountId":"accountId","firstName":"firstName","lastName":"lastName","customerIdent'
    'ifiers":{"instore":{"mobile":"mobile","externalId":"externalId","email":"email"},"we'
    'bengage":{"accounts":[{"accountId":"311c9d4c","identifiers":[{"identifierValue":"ide'
    'ntifierValue","identifierType":"identifierType"},{"identifierValue":"identifierValue'
    '","identifierType":"identifierType"}]}]},"customerId":379499720,"wechat":{"accounts"'
    ':[{"accountId":"311c9d4c","identifiers":[{"identifierValue":"identifierValue","ident'
    'ifierType":"identifierType"},{"identifierValue":"identifierValue","identifierType":"'
    'identifierType"}]}]},"cardnumbers":{"accounts":[{"accountId":"311c9d4c","identifiers'
    '":[{"identifierValue":"identifierValue","identifierType":"identifierType"},{"identif'
    'ierValue":"identifierValue","identifierType":"identifierType"}]}]}},"loyaltyType":"l'
    'oyaltyType","enteredAt":1676,"source":"source","enteredBy":{"till":{"code":"code","n'
    'ame":"name"},"id":200299224,"store":{"code":"code","name":"name","externalId":"exter'
    'nalId","externalId2":"externalId2","externalId1":"externalId1"}}},"loyaltyEventId":n'
    'ull,"eventName":"customerAdded","refId":"100737_7250807","apiRequestId":"1344ffd5-7b'
    '6f-4af0-a23d-ce354da13c76","orgId":100737}'
)
BE_NAMAN = '{"event_name":"TestBE-Rutuja","String":"naman_doc","customer":"918088369835"}'

# -- the org's definitions ---------------------------------------------------------------
# Group_User_Event exactly as GET /v2/events shows it (capillary-openapi/v2.get-event-details).
GROUP_USER_EVENT = {
    "eventName": "Group_User_Event",
    "eventType": "USEREVENT",
    "actions": ["EMFConsumer"],
    "fields": [
        {
            "name": "customer",
            "type": "CUSTOMER",
            "attributes": {
                "accountId": {"valueType": "ENUM"},
                "addCustomerIfNotExists": {"value": "true", "valueType": "Boolean"},
                "identifierType": {"value": "mobile", "valueType": "ENUM"},
                "isRequired": {"value": "true", "valueType": "BOOLEAN"},
                "source": {"value": "INSTORE", "valueType": "ENUM"},
            },
        },
        {
            "name": "String",
            "type": "TILLCODE",
            "attributes": {
                "isRequired": {"value": "false", "valueType": "Boolean"},
                "isUniqueKeyField": {"value": "false", "valueType": "BOOLEAN"},
            },
        },
        {
            "name": "enum",
            "type": "GROUPID",
            "attributes": {
                "accountId": {"valueType": "ENUM"},
                "groupIdentifierType": {"value": "GroupExternalId", "valueType": "ENUM"},
                "identifierType": {"value": "userId", "valueType": "ENUM"},
                "isRequired": {"value": "false", "valueType": "Boolean"},
                "isUniqueKeyField": {"value": "false", "valueType": "BOOLEAN"},
                "source": {"value": "INSTORE", "valueType": "ENUM"},
            },
        },
    ],
}


def _customer(name: str, *, add: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "type": "customer",
        "attributes": {
            "identifierType": {"value": "mobile", "valueType": "ENUM"},
            "source": {"value": "INSTORE", "valueType": "ENUM"},
            "isRequired": {"value": "true", "valueType": "BOOLEAN"},
            "addCustomerIfNotExists": {"value": "true" if add else "false", "valueType": "BOOLEAN"},
        },
    }


def _till_field(name: str = "String") -> dict[str, Any]:
    return {
        "name": name,
        "type": "tillCode",
        "attributes": {"isRequired": {"value": "false", "valueType": "BOOLEAN"}},
    }


DEFINITIONS: list[dict[str, Any]] = [
    GROUP_USER_EVENT,
    {
        "eventName": "TestBE-Rutuja",
        "actions": ["EMFConsumer", "EIConsumer"],
        "fields": [_till_field(), _customer("customer")],
    },
    {
        "eventName": "TestingEvent_FE",
        "label": "TestingEvent_FE",
        "actions": ["EIConsumer"],
        "fields": [_customer("Customer")],
    },
    {
        "eventName": "TestEventWithDate",
        "actions": ["EIConsumer"],
        "fields": [
            _customer("CustomerId"),
            {
                "name": "createdDate",
                "type": "date",
                "attributes": {"isRequired": {"value": "false", "valueType": "BOOLEAN"}},
            },
        ],
    },
    {
        "eventName": "Event_Rutuja",
        "actions": ["EIConsumer"],
        "fields": [_till_field(), _customer("customer")],
    },
    {
        "eventName": "TestingEvent_FE_Rutuja",
        "label": "TestingEvent_FE",
        "actions": ["EIConsumer"],
        "fields": [_customer("CustomerId")],
    },
]


@dataclass
class Posted:
    """One replayed request and what the seed says it must give."""

    body: str
    status: str | None
    message: str
    webhook_id: str
    request_id: str | None  # None when the post was refused (401)


@dataclass
class Org100737:
    t: Tenant
    main_webhook: str
    webengage_webhook: str
    rutuja_till: int
    naman_till: int
    customers: dict[str, int] = field(default_factory=dict)
    posted: list[Posted] = field(default_factory=list)


async def _replay(
    t: Tenant, anonymous: httpx.AsyncClient, db: Database, drain: Callable[[], int]
) -> Org100737:
    # Other tests' orgs have a till of the same code: a password of its own tells them apart.
    password = uuid.uuid4().hex
    rutuja_till, _, _ = make_till(db, t.org_id, code="rutuja_capillary", password=password)
    naman_till, _, _ = make_till(db, t.org_id, code="naman_doc", password=uuid.uuid4().hex)
    rutuja = basic("rutuja_capillary", md5(password))
    for definition in DEFINITIONS:
        r = await t.http.post("/v2/events", json=definition)
        assert r.status_code == 200, r.text
    main = await make_webhook(t, till_code="rutuja_capillary")
    await enable_auth(t, main)
    webengage = await make_webhook(
        t, till_code="rutuja_capillary", transformer="WebEngageTransformer"
    )
    org = Org100737(t, main, webengage, rutuja_till, naman_till)
    await make_group(t, "customerUserGroup", [])

    async def replay(
        body: str,
        status: str | None,
        message: str,
        *,
        webhook: str = main,
        headers: dict[str, str] | None = rutuja,
    ) -> None:
        await tick()
        request_id = await post(t, webhook, body, headers=headers)
        assert drain() == 1
        org.posted.append(Posted(body, status, message, webhook, request_id))

    # seeds/004, TestBE-Rutuja: customer 917744876415 is not registered yet
    await replay(BE_NO_CUSTOMER, "EMF_PROCESSOR_FAILED", EMF_NO_CUSTOMER)
    for _ in range(3):
        await replay(BE_UNKNOWN, "EMF_PROCESSOR_FAILED", EMF_NO_CUSTOMER)
    # seeds/004, the successes of customer 917744876415 (seeds/000's customer)
    org.customers["917744876415"] = await add_customer(t, value="917744876415")
    await replay(FE_RUTUJA, "EVENT_SUCCESS", SUCCESS)
    await replay(EVENT_RUTUJA, "EVENT_SUCCESS", SUCCESS)
    await replay(FE, "EVENT_SUCCESS", SUCCESS)
    await replay(WITH_DATE, "EVENT_SUCCESS", SUCCESS)
    # seeds/004, Group_User_Event: an unknown group, then success as a member
    await replay(GROUP_BAD_ID, "INVALID_GROUP_IDENTIFIER_PASSED", invalid_group("3854766"))
    # the group check comes before the customer step: addCustomerIfNotExists did not run
    assert (await lookup_customer(t, "mobile", "919970388310")).status_code == 404
    org.customers["919970388310"] = await add_customer(t, value="919970388310")
    await set_members(t, "customerUserGroup", add=[org.customers["919970388310"]])
    await replay(GROUP, "EVENT_SUCCESS", SUCCESS)
    # seeds/002, oldest first: a post without credentials to the auth-enabled webhook
    await tick()
    r = await post_raw(anonymous, main, GROUP_UNAUTHORIZED)
    assert r.status_code == 401, r.text
    assert r.json() == {
        "warnings": [],
        "errors": [
            {
                "status": False,
                "code": 401,
                "message": "Please check your username/password or authentication token",
            }
        ],
    }
    assert drain() == 1
    org.posted.append(Posted(GROUP_UNAUTHORIZED, None, "Unauthorized", main, None))
    await replay(ABC_1, "INVALID_EVENT_NAME", invalid_event_name("ABC_User_Event"))
    await replay(ABC_2, "INVALID_EVENT_NAME", invalid_event_name("ABC_User_Event"))
    await replay(EMPTY_NAME, "INVALID_EVENT_NAME", "Invalid event name ")
    await replay(EVENT_EVENT, "INVALID_EVENT_NAME", invalid_event_name("Event_event"))
    # the customer left the group
    await set_members(t, "customerUserGroup", remove=[org.customers["919970388310"]])
    await replay(GROUP, "NO_CUSTOMER_DETAILS_PASSED", not_in_group("customerUserGroup"))
    await replay(
        CUSTOMER_ADDED,
        "INVALID_META_TRANSFORMER_MAPPINGS",
        NO_MAPPING,
        webhook=webengage,
        headers=None,
    )
    await replay(GROUP, "NO_CUSTOMER_DETAILS_PASSED", not_in_group("customerUserGroup"))
    await replay(GROUP, "NO_CUSTOMER_DETAILS_PASSED", not_in_group("customerUserGroup"))
    # seeds/002's last: TestBE-Rutuja at till naman_doc for a registered customer
    org.customers["918088369835"] = await add_customer(t, value="918088369835")
    await replay(BE_NAMAN, "EVENT_SUCCESS", SUCCESS)
    return org


async def test_every_seed_request_gets_the_seed_status_and_message(
    tenant: Tenant, http: httpx.AsyncClient, db: Database, drain: Callable[[], int]
) -> None:
    org = await _replay(tenant, http, db, drain)
    entries = await logs(tenant, limit=100)
    assert len(entries) == len(org.posted) == 20
    by_id = {e["id"]: e for e in entries}
    assert len(by_id) == 20, "one log entry per request, each with its own id"
    for posted in org.posted:
        if posted.request_id is None:
            [entry] = [e for e in entries if e["inputRequest"] == posted.body]
        else:
            entry = by_id[posted.request_id]
        assert entry.get("status") == posted.status, (posted.body, entry)
        assert entry["message"] == posted.message, (posted.body, entry)


async def test_replayed_log_entries_have_the_seed_keys_and_values(
    tenant: Tenant, http: httpx.AsyncClient, db: Database, drain: Callable[[], int]
) -> None:
    org = await _replay(tenant, http, db, drain)
    entries = await logs(tenant, limit=100)
    # newest first: the reverse of the order posted
    assert [e["inputRequest"] for e in entries] == [p.body for p in reversed(org.posted)]
    starts = [e["startTime"] for e in entries]
    assert starts == sorted(starts, reverse=True)
    for entry, posted in zip(reversed(entries), org.posted, strict=True):
        payload = json.loads(posted.body)
        transformed = posted.status != "INVALID_META_TRANSFORMER_MAPPINGS"
        assert_log_shape(
            entry,
            org_id=tenant.org_id,
            webhook_id=posted.webhook_id,
            body=posted.body,
            has_status=posted.status is not None,
            has_event_name=transformed,
        )
        if posted.request_id is not None:
            assert entry["id"] == posted.request_id
        else:
            assert entry["id"] not in {p.request_id for p in org.posted}
        if transformed:
            assert entry["eventName"] == payload["event_name"]
    unauthorized = [e for e in entries if "status" not in e]
    assert len(unauthorized) == 1
    assert unauthorized[0]["message"] == "Unauthorized"
    assert unauthorized[0]["eventName"] == "Group_User_Event"
    [empty] = [e for e in entries if e["inputRequest"] == EMPTY_NAME]
    assert empty["eventName"] == ""
    [mapped] = [e for e in entries if e.get("status") == "INVALID_META_TRANSFORMER_MAPPINGS"]
    assert "eventName" not in mapped
    assert mapped["webhookId"] == org.webengage_webhook != org.main_webhook


async def test_replayed_successes_are_stored_like_seed_000(
    tenant: Tenant, http: httpx.AsyncClient, db: Database, drain: Callable[[], int]
) -> None:
    org = await _replay(tenant, http, db, drain)
    ids = {p.body: p.request_id for p in org.posted if p.status == "EVENT_SUCCESS"}
    common = {"org_id": tenant.org_id, "till_id": org.rutuja_till, "till_code": "rutuja_capillary"}

    # seeds/000's customer: four events, newest first
    user = org.customers["917744876415"]
    data = await records(tenant, user)
    assert [r["eventName"] for r in data] == [
        "TestEventWithDate",
        "TestingEvent_FE",
        "Event_Rutuja",
        "TestingEvent_FE_Rutuja",
    ]
    with_date, fe, rutuja, fe_rutuja = data
    assert_record_shape(
        with_date,
        **common,
        user_id=user,
        request_id=str(ids[WITH_DATE]),
        name="TestEventWithDate",
        attributes={"createdDate": "2025-05-08 17:33:01"},
    )
    assert_record_shape(
        fe,
        **common,
        user_id=user,
        request_id=str(ids[FE]),
        name="TestingEvent_FE",
        label="TestingEvent_FE",
    )
    assert_record_shape(
        rutuja,
        **common,
        user_id=user,
        request_id=str(ids[EVENT_RUTUJA]),
        name="Event_Rutuja",
        attributes={"String": str(org.rutuja_till)},
        ou_till_code="rutuja_capillary",
    )
    assert_record_shape(
        fe_rutuja,
        **common,
        user_id=user,
        request_id=str(ids[FE_RUTUJA]),
        name="TestingEvent_FE_Rutuja",
        label="TestingEvent_FE",
    )
    # no eventDateTime posted: the processing time, truncated to the second
    for record in data:
        attrs = record["additonalAttributes"]
        assert attrs["eventDateTime"] == str(attrs["autoUpdateTimeStamp"] // 1000 * 1000)

    # the group member's one success (the later, non-member attempts stored nothing)
    member = org.customers["919970388310"]
    [group] = await records(tenant, member)
    assert_record_shape(
        group,
        **common,
        user_id=member,
        request_id=str(ids[GROUP]),
        name="Group_User_Event",
        attributes={"String": str(org.rutuja_till), "enum": "customerUserGroup"},
        ou_till_code="rutuja_capillary",
    )

    # TestBE-Rutuja at till naman_doc: the event is attributed to that till
    naman = org.customers["918088369835"]
    [be] = await records(tenant, naman)
    assert_record_shape(
        be,
        org_id=tenant.org_id,
        till_id=org.naman_till,
        till_code="naman_doc",
        user_id=naman,
        request_id=str(ids[BE_NAMAN]),
        name="TestBE-Rutuja",
        attributes={"String": str(org.naman_till)},
        ou_till_code="naman_doc",
    )
