"""Cross-org isolation of behavioural events (SPEC §2): one org's definitions, webhooks,
mappings, logs and events are invisible and untouchable through another org's credentials,
and an event is processed in the org of the webhook it was posted to."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import TenantFactory
from tests.fixtures.ingest import (
    EVENT_DATA,
    LOGS,
    Org,
    accepted,
    add_customer,
    all_logs,
    assert_error,
    customer_events,
    definition,
    envelope,
    event_by_id,
    ok,
    post_json,
    setup_org,
)


@dataclass
class World:
    """An org with its own event, webhook, mapping, customer, events and log entries."""

    org: Org
    event_id: str = ""  # the definition's eventId
    success: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def http(self) -> httpx.AsyncClient:
        return self.org.http

    @property
    def secrets(self) -> list[str]:
        """Strings of this org that must never appear in another org's answers."""
        return [
            self.org.event_name,
            self.org.webhook_id,
            self.event_id,
            *self.success,
            *self.failed,
        ]


async def build(
    tenant: Any, event_name: str, mobile: str | None, drain: Callable[[], int]
) -> World:
    org = await setup_org(tenant, event_name, mobile=mobile)
    ok(
        await org.http.post(
            "/v2/events/adapter_mapping",
            json={"transformerType": "defaultTransformer", "eventsMapped": [event_name]},
        )
    )
    [meta] = envelope(await org.http.get("/v2/events", params={"eventName": event_name}))
    world = World(org, event_id=meta["clickEventsMeta"]["eventId"])
    for amount in (1, 2):
        world.success.append(accepted(await post_json(org.http, org.url, org.payload(amount))))
    world.failed.append(accepted(await post_json(org.http, org.url, org.payload("x"))))
    drain()
    return world


async def two_orgs(make_tenant: TenantFactory, drain: Callable[[], int]) -> tuple[World, World]:
    """A and B: different event names, the same customer mobile."""
    a_tenant = await make_tenant()
    b_tenant = await make_tenant()
    a = await build(a_tenant, "Alpha_Purchase", None, drain)
    b = await build(b_tenant, "Beta_Visit", a.org.mobile, drain)
    assert a.org.customer_id != b.org.customer_id
    return a, b


def no_leak(r: httpx.Response, owner: World, *allowed: str) -> None:
    """Nothing of ``owner`` in the answer, except what the caller itself sent (``allowed``,
    e.g. an event name echoed in "Event X not found")."""
    for secret in owner.secrets:
        if secret in allowed:
            continue
        assert secret not in r.text, f"{secret!r} of another org in {r.request.url}: {r.text}"


# -- reads ------------------------------------------------------------------------------
async def test_reads_show_nothing_of_another_org(
    make_tenant: TenantFactory, drain: Callable[[], int]
) -> None:
    a, b = await two_orgs(make_tenant, drain)
    for viewer, owner in ((b, a), (a, b)):
        name = owner.org.event_name
        # lists: only the viewer's own things
        defs = envelope(await viewer.http.get("/v2/events"))
        assert [d["clickEventsMeta"]["eventName"] for d in defs] == [viewer.org.event_name]
        hooks = envelope(await viewer.http.get("/v2/events/webhooks"))
        assert [h["webHookId"] for h in hooks] == [viewer.org.webhook_id]
        logs = await all_logs(viewer.http)
        assert sorted(e["id"] for e in logs) == sorted(viewer.success + viewer.failed)
        assert {e["orgId"] for e in logs} == {viewer.org.tenant.org_id}

        empty_lists: list[tuple[str, dict[str, Any]]] = [
            ("/v2/events", {"eventName": name}),
            (LOGS, {"event_name": name}),
            (LOGS, {"event_name": name, "status": "EVENT_SUCCESS", "limit": 1000}),
            (LOGS, {"event_name": name, "status": "EVENT_FIELD_VALIDATION_FAILED"}),
            (f"{EVENT_DATA}/{owner.org.customer_id}", {}),
            (f"{EVENT_DATA}/{owner.org.customer_id}", {"event_name": name}),
            (f"{EVENT_DATA}/{owner.org.customer_id}", {"limit": 10000, "from_date": "0"}),
        ]
        empty_lists += [(EVENT_DATA, {"id": rid}) for rid in owner.success + owner.failed]
        for path, params in empty_lists:
            r = await viewer.http.get(path, params=params)
            assert envelope(r) == [], (path, params)
            no_leak(r, owner)

        r = await viewer.http.get("/v2/events/meta", params={"event_name": name})
        assert_error(r, 404, 404)
        no_leak(r, owner, name)

        everything: list[tuple[str, dict[str, Any]]] = [
            ("/v2/events", {}),
            ("/v2/events/webhooks", {}),
            ("/v2/events/adapter_mapping", {}),
            (LOGS, {"limit": 1000}),
            (LOGS, {"limit": 1000, "status": "EVENT_SUCCESS"}),
            (LOGS, {"limit": 1000, "status": "UNAUTHORIZED"}),
            (LOGS, {"limit": 1000, "from_date": "0", "to_date": "2999-12-31"}),
            (f"{EVENT_DATA}/{viewer.org.customer_id}", {}),
        ]
        for path, query in everything:
            r = await viewer.http.get(path, params=query)
            assert r.status_code == 200, r.text
            no_leak(r, owner)

        # the viewer's own customer with the same mobile has only the viewer's events
        own = await customer_events(viewer.http, viewer.org.customer_id)
        assert sorted(e["eventId"] for e in own) == sorted(viewer.success)
        # and the owner still sees all of its own
        mine = await customer_events(owner.http, owner.org.customer_id)
        assert sorted(e["eventId"] for e in mine) == sorted(owner.success)


# -- writes -----------------------------------------------------------------------------
async def test_changes_to_another_orgs_definitions_and_webhooks_are_404(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    a, b = await two_orgs(make_tenant, drain)
    for actor, owner in ((b, a), (a, b)):
        name = owner.org.event_name
        hook = owner.org.webhook_id
        before_meta = envelope(await owner.http.get("/v2/events/meta", params={"event_name": name}))
        before_hooks = envelope(await owner.http.get("/v2/events/webhooks"))
        replacement = definition(name)
        replacement["fields"] = replacement["fields"][:1]  # would drop "amount"
        attempts: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]] = [
            ("PUT", "/v2/events", None, replacement),
            ("PUT", "/v2/events/disable", {"event_name": name}, None),
            (
                "PUT",
                "/v2/events/webhook",
                None,
                {"webHookId": hook, "authEnabled": True, "authMechanism": "BASIC"},
            ),
            (
                "PUT",
                "/v2/events/webhook",
                None,
                {
                    "webHookUri": f"http://testserver/webhooks/{hook}",
                    "authEnabled": True,
                    "authMechanism": "BASIC",
                },
            ),
            ("PUT", "/v2/events/webhook/disable", None, {"webHookId": hook}),
        ]
        for method, path, params, body in attempts:
            r = await actor.http.request(method, path, params=params, json=body)
            assert_error(r, 404, 404)
            no_leak(r, owner, name, hook)
        r = await actor.http.get("/v2/events/meta", params={"event_name": name})
        assert_error(r, 404, 404)
        r = await actor.http.post(
            "/v2/events/adapter_mapping",
            json={"transformerType": "defaultTransformer", "eventsMapped": [name]},
        )
        assert_error(r, 400, 400, name)

        # nothing of the owner changed
        after_meta = envelope(await owner.http.get("/v2/events/meta", params={"event_name": name}))
        assert after_meta == before_meta
        assert after_meta[0]["clickEventsMeta"]["status"] == "PUBLISHED"
        assert len(after_meta[0]["clickEventsMeta"]["fields"]) == 2
        assert envelope(await owner.http.get("/v2/events/webhooks")) == before_hooks
        assert before_hooks[0]["authEnabled"] is False
        assert before_hooks[0]["enabled"] is True
        # its webhook still takes anonymous posts, and its event still succeeds
        rid = accepted(await post_json(http, owner.org.url, owner.org.payload(amount=5)))
        drain()
        [entry] = [e for e in await all_logs(owner.http) if e["id"] == rid]
        assert entry["status"] == "EVENT_SUCCESS", entry
        assert entry["orgId"] == owner.org.tenant.org_id


async def test_another_org_may_use_the_same_event_name_in_its_own_namespace(
    make_tenant: TenantFactory, drain: Callable[[], int]
) -> None:
    a, b = await two_orgs(make_tenant, drain)
    name = a.org.event_name
    ok(await b.http.post("/v2/events", json=definition(name)))
    [b_meta] = envelope(await b.http.get("/v2/events/meta", params={"event_name": name}))
    [a_meta] = envelope(await a.http.get("/v2/events/meta", params={"event_name": name}))
    assert b_meta["clickEventsMeta"]["orgId"] == b.org.tenant.org_id
    assert a_meta["clickEventsMeta"]["orgId"] == a.org.tenant.org_id
    assert b_meta["clickEventsMeta"]["eventId"] != a_meta["clickEventsMeta"]["eventId"]
    # B disabling its own copy leaves A's enabled
    ok(await b.http.put("/v2/events/disable", params={"event_name": name}))
    [a_meta] = envelope(await a.http.get("/v2/events/meta", params={"event_name": name}))
    assert a_meta["clickEventsMeta"]["status"] == "PUBLISHED"
    # B's log still has nothing of A under that name
    assert await all_logs(b.http, event_name=name) == []
    rid = accepted(await post_json(a.http, a.org.url, a.org.payload()))
    drain()
    assert (await all_logs(a.http, event_name=name))[0]["id"] == rid
    assert await all_logs(b.http, event_name=name) == []


# -- processing -------------------------------------------------------------------------
async def test_an_event_is_processed_in_the_webhooks_org(
    make_tenant: TenantFactory, http: httpx.AsyncClient, drain: Callable[[], int]
) -> None:
    a, b = await two_orgs(make_tenant, drain)
    b_before = await customer_events(b.http, b.org.customer_id)
    b_logs_before = await all_logs(b.http)
    # posted to A's webhook anonymously, with A's and with B's credentials: all A's
    ids = [
        accepted(await post_json(client, a.org.url, a.org.payload(amount=n)))
        for n, client in enumerate((http, a.http, b.http))
    ]
    # A's event name posted to B's webhook is unknown there
    foreign = accepted(await post_json(b.http, b.org.url, a.org.payload()))
    drain()

    a_logs = {e["id"]: e for e in await all_logs(a.http)}
    for rid in ids:
        assert a_logs[rid]["status"] == "EVENT_SUCCESS"
        assert a_logs[rid]["orgId"] == a.org.tenant.org_id
        assert a_logs[rid]["webhookId"] == a.org.webhook_id
        [record] = await event_by_id(a.http, rid)
        assert record["orgId"] == a.org.tenant.org_id
        assert record["userId"] == a.org.customer_id
        assert record["additonalAttributes"]["customerId"] == str(a.org.customer_id)
        assert record["tillCode"] == a.org.tenant.till_code
        assert await event_by_id(b.http, rid) == []
    assert foreign not in a_logs
    # B's customer with the same mobile was not touched; B's log only has its own post
    assert await customer_events(b.http, b.org.customer_id) == b_before
    b_logs = await all_logs(b.http)
    assert {e["id"] for e in b_logs} == {e["id"] for e in b_logs_before} | {foreign}
    [entry] = [e for e in b_logs if e["id"] == foreign]
    assert entry["status"] == "INVALID_EVENT_NAME"
    assert entry["message"] == f"Invalid event name {a.org.event_name}"
    assert entry["orgId"] == b.org.tenant.org_id
    assert json.loads(entry["inputRequest"])["customer"] == a.org.mobile
    # a customer A does not have, though B has it, is not found in A
    b_only, b_mobile = await add_customer(b.org.tenant)
    rid = accepted(await post_json(http, a.org.url, {**a.org.payload(), "customer": b_mobile}))
    drain()
    assert (await all_logs(a.http, status="NO_CUSTOMER_DETAILS_PASSED"))[0]["id"] == rid
    assert await customer_events(b.http, b_only) == []


def _customer_field(identifier: str = "mobile", **extra: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {"identifierType": {"value": identifier}}
    attributes.update({k: {"value": v} for k, v in extra.items()})
    return {"name": "customer", "type": "customer", "attributes": attributes}


async def test_processing_looks_up_only_in_the_webhooks_org(
    make_tenant: TenantFactory, drain: Callable[[], int]
) -> None:
    """Tills, groups and customers named in a payload are looked up in the org of the
    webhook: another org's are unknown, never borrowed."""
    a, b = await two_orgs(make_tenant, drain)
    a_tenant, b_tenant = a.org.tenant, b.org.tenant
    external = f"GRP-{a.org.webhook_id[:8]}"
    group = ok(
        await a.http.post(
            "/v2/orgs/settings/groups",
            json={"externalId": external, "name": "A's group", "members": [a.org.customer_id]},
        )
    )
    a_group_id = group["groupId"]
    only_in_a, only_in_a_mobile = await add_customer(a_tenant)
    definitions: list[dict[str, Any]] = [
        {
            "eventName": "B_Till",
            "actions": ["EIConsumer"],
            "fields": [_customer_field(), {"name": "store_till", "type": "tillCode"}],
        },
        {
            "eventName": "B_Group",
            "actions": ["EIConsumer"],
            "fields": [_customer_field(), {"name": "grp", "type": "groupId"}],
        },
        {
            "eventName": "B_Group_Id",
            "actions": ["EIConsumer"],
            "fields": [
                _customer_field(),
                {
                    "name": "grp",
                    "type": "groupId",
                    "attributes": {"groupIdentifierType": {"value": "GroupId"}},
                },
            ],
        },
        {"eventName": "B_User", "actions": ["EIConsumer"], "fields": [_customer_field("userId")]},
        {
            "eventName": "B_Auto",
            "actions": ["EIConsumer"],
            "fields": [_customer_field(addCustomerIfNotExists="true")],
        },
    ]
    for body in definitions:
        ok(await b.http.post("/v2/events", json=body))
    mobile = b.org.mobile  # the same mobile in both orgs
    cases: list[tuple[dict[str, Any], str, str]] = [
        (
            {"event_name": "B_Till", "customer": mobile, "store_till": a_tenant.till_code},
            "EVENT_FIELD_VALIDATION_FAILED",
            f"Invalid value for field store_till: no till with code {a_tenant.till_code}",
        ),
        (
            {"event_name": "B_Till", "customer": mobile, "store_till": b_tenant.till_code},
            "EVENT_SUCCESS",
            "Event processed successfully",
        ),
        (
            {"event_name": "B_Group", "customer": mobile, "grp": external},
            "INVALID_GROUP_IDENTIFIER_PASSED",
            f"Invalid group identifier passed {external}",
        ),
        (
            {"event_name": "B_Group_Id", "customer": mobile, "grp": str(a_group_id)},
            "INVALID_GROUP_IDENTIFIER_PASSED",
            f"Invalid group identifier passed {a_group_id}",
        ),
        (
            {"event_name": "B_User", "customer": str(a.org.customer_id)},
            "NO_CUSTOMER_DETAILS_PASSED",
            "Customer details not passed",
        ),
        (
            {"event_name": "B_User", "customer": str(b.org.customer_id)},
            "EVENT_SUCCESS",
            "Event processed successfully",
        ),
        (
            {"event_name": "B_Auto", "customer": only_in_a_mobile},
            "EVENT_SUCCESS",
            "Event processed successfully",
        ),
    ]
    ids = [accepted(await post_json(b.http, b.org.url, payload)) for payload, _, _ in cases]
    drain()
    b_logs = {e["id"]: e for e in await all_logs(b.http)}
    for rid, (payload, status, message) in zip(ids, cases, strict=True):
        entry = b_logs[rid]
        assert (entry["status"], entry["message"]) == (status, message), payload
        assert entry["orgId"] == b_tenant.org_id

    # the successes belong to B's customers
    [till_event] = await event_by_id(b.http, ids[1])
    assert till_event["userId"] == b.org.customer_id
    assert till_event["tillCode"] == b_tenant.till_code
    [auto] = await event_by_id(b.http, ids[-1])
    assert auto["userId"] not in (only_in_a, a.org.customer_id)
    assert auto["orgId"] == b_tenant.org_id
    # A knows nothing of any of it; A's customers are untouched
    a_ids = {e["id"] for e in await all_logs(a.http)}
    assert a_ids.isdisjoint(ids)
    assert await customer_events(a.http, only_in_a) == []
    assert sorted(e["eventId"] for e in await customer_events(a.http, a.org.customer_id)) == sorted(
        a.success
    )
    r = await a.http.get(
        "/v2/customers/lookup",
        params={"identifierName": "mobile", "identifierValue": only_in_a_mobile},
    )
    assert ok(r)["entity"] == only_in_a
    r = await b.http.get(
        "/v2/customers/lookup",
        params={"identifierName": "mobile", "identifierValue": only_in_a_mobile},
    )
    assert ok(r)["entity"] == auto["userId"]


async def test_webhooks_cannot_borrow_another_orgs_till(
    make_tenant: TenantFactory, drain: Callable[[], int]
) -> None:
    a, b = await two_orgs(make_tenant, drain)
    for actor, owner in ((b, a), (a, b)):
        code = owner.org.tenant.till_code
        r = await actor.http.post(
            "/v2/events/webhook", json={"transformerType": "WebEngageTransformer", "tillCode": code}
        )
        assert_error(r, 400, 400, "tillCode")
        r = await actor.http.put(
            "/v2/events/webhook", json={"webHookId": actor.org.webhook_id, "tillCode": code}
        )
        assert_error(r, 400, 400, "tillCode")
        [hook] = envelope(await actor.http.get("/v2/events/webhooks"))
        assert hook["tillCode"] == actor.org.tenant.till_code
