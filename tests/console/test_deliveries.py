"""The console's notification pages on both databases: the delivery log of changes
made through the API and sent to real receivers, its filters and paging, one
delivery with its body (PSI masked), Redeliver (CSRF, admin only, sent again),
another org's session, bad filters."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from eventrail.app import EventrailApp, create_app
from eventrail.config import Settings
from eventrail.console import endpoints
from eventrail.db import Database
from eventrail.notifications.delivery import DeliveryPolicy, Notifier
from eventrail.notifications.emit import emit
from tests.fixtures.console import browser, csrf_of, sign_in, signed_in
from tests.fixtures.factories import Tenant, basic, make_client, make_org, make_till, md5
from tests.fixtures.notifications import Receiver, receiving, wait_for, webhook_body
from tests.fixtures.pipeline import mobile

pytestmark = pytest.mark.anyio

# Fast retries, and a give-up after half a second: a failing receiver's delivery ends
# failed within a second.
POLICY = DeliveryPolicy(
    timeout_seconds=0.5,
    retry_base_seconds=0.05,
    retry_max_seconds=0.1,
    give_up_seconds=0.5,
    allow_private=True,
    senders=4,
    idle_seconds=0.05,
)
ROW = re.compile(r'<a href="/console/deliveries/([0-9a-f-]{36})">')


@pytest.fixture(scope="module")
def private_app(settings: Settings, db: Database) -> Iterator[EventrailApp]:
    """The app of an operator who set EVENTRAIL_NOTIFY_ALLOW_PRIVATE (loopback receivers)."""
    application = create_app(settings.model_copy(update={"notify_allow_private": True}), db)
    yield application
    application.state.reads.close()


@pytest.fixture
async def orgs(private_app: EventrailApp, db: Database) -> AsyncIterator[Callable[..., Any]]:
    clients: list[httpx.AsyncClient] = []

    async def make(**org: Any) -> Tenant:
        org_id = make_org(db, **org)
        till_id, code, password = make_till(db, org_id)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=private_app, raise_app_exceptions=False),
            base_url="http://testserver",
            headers=basic(code, md5(password)),
        )
        clients.append(client)
        return Tenant(org_id, till_id, code, password, client, db)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def notifier(db: Database) -> Iterator[Notifier]:
    running = Notifier(db, POLICY)
    running.start()
    yield running
    running.stop()


async def _hook(t: Tenant, name: str, url: str, names: list[str] | None = None) -> str:
    r = await t.http.post("/v3/webHooks", json=webhook_body(url, names, name=name))
    assert r.status_code == 200, r.text
    webhook_id: str = r.json()["data"]["webHookId"]
    return webhook_id


async def _customer(t: Tenant, phone: str) -> int:
    r = await t.http.post(
        "/v2/customers", json={"profiles": [{"identifiers": [{"type": "mobile", "value": phone}]}]}
    )
    assert r.status_code == 200, r.text
    customer_id: int = r.json()["createdId"]
    return customer_id


def _rows(db: Database, org_id: int) -> dict[str, tuple[str, str]]:
    """id -> (webhook id, state) of the org's deliveries."""
    with db.transaction(write=False) as session:
        found = session.execute(
            sa.text("SELECT id, webhook_id, state FROM notification_deliveries WHERE org_id = :o"),
            {"o": org_id},
        )
        return {str(i): (str(w), str(s)) for i, w, s in found}


def _finished(db: Database, org_id: int, count: int) -> bool:
    rows = _rows(db, org_id)
    return len(rows) == count and all(s in ("delivered", "failed") for _, s in rows.values())


class Sent:
    """An org with two webhooks, "crm" (its receiver answers 200) and "erp" (500), and
    one customer registered through the API: one delivery to each."""

    def __init__(self, t: Tenant, crm: str, erp: str, customer_id: int, phone: str) -> None:
        self.t = t
        self.crm = crm
        self.erp = erp
        self.customer_id = customer_id
        self.phone = phone
        rows = _rows(t.db, t.org_id)
        self.delivered = next(i for i, (w, _) in rows.items() if w == crm)
        self.failed = next(i for i, (w, _) in rows.items() if w == erp)


async def _send(t: Tenant, ok: Receiver, bad: Receiver) -> Sent:
    crm = await _hook(t, "crm", ok.url, ["customerAdded"])
    erp = await _hook(t, "erp", bad.url, ["customerAdded"])
    phone = mobile()
    customer_id = await _customer(t, phone)
    wait_for(lambda: _finished(t.db, t.org_id, 2))
    sent = Sent(t, crm, erp, customer_id, phone)
    assert _rows(t.db, t.org_id)[sent.delivered][1] == "delivered"
    assert _rows(t.db, t.org_id)[sent.failed][1] == "failed"
    return sent


async def test_the_log_lists_filters_and_shows_what_a_real_change_sent(
    private_app: EventrailApp, orgs: Any, notifier: Notifier
) -> None:
    t: Tenant = await orgs()
    with receiving() as ok, receiving(lambda _: "fail") as bad:
        sent = await _send(t, ok, bad)
        client = await signed_in(private_app, t)

        page = await client.get("/console/deliveries")
        assert page.status_code == 200, page.text
        assert '<a href="/console/deliveries">Notifications</a>' in page.text  # the nav
        hooks = page.text[page.text.index('id="notify-webhooks"') : page.text.index("Delivery log")]
        for url in (ok.url, bad.url):
            assert url in hooks
        assert f'href="/console/deliveries?webhook={sent.crm}"' in hooks
        assert set(ROW.findall(page.text)) == {sent.delivered, sent.failed}
        row = page.text[page.text.index(sent.delivered) :].split("</tr>")[0]
        for shown in (
            "customerAdded",
            "<td>crm</td>",
            f"{t.org_id}_{sent.customer_id}",
            "delivered",
            "<td>1</td>",
            "HTTP 200 in",
        ):
            assert shown in row, (shown, row)
        row = page.text[page.text.index(sent.failed) :].split("</tr>")[0]
        assert "<td>erp</td>" in row and "failed" in row and "HTTP 500" in row

        for params, expected in (
            ({"status": "delivered"}, {sent.delivered}),
            ({"status": "failed"}, {sent.failed}),
            ({"status": "pending"}, set()),
            ({"webhook": sent.erp}, {sent.failed}),
            ({"webhook": sent.crm, "status": "failed"}, set()),
            ({"event": "customerAdded"}, {sent.delivered, sent.failed}),
            ({"event": "cardAdded"}, set()),
            ({"from": "2999-01-01"}, set()),
            ({"from": "2000-01-01", "to": "2999-12-31"}, {sent.delivered, sent.failed}),
        ):
            r = await client.get("/console/deliveries", params=params)
            assert r.status_code == 200, (params, r.text)
            assert set(ROW.findall(r.text)) == expected, params
            if not expected:
                assert "No deliveries under this filter." in r.text

        one = await client.get(f"/console/deliveries/{sent.delivered}")
        assert one.status_code == 200
        assert "&#34;webhookHttpStatus&#34;: 200.0" in one.text  # consumerResponse, escaped
        assert f"&#34;customerId&#34;: {sent.customer_id}" in one.text  # the body as sent
        assert sent.phone in one.text  # the org does not mask PSI
        assert 'action="/console/deliveries/' + sent.delivered + '/redeliver"' in one.text


async def test_redeliver_sends_it_again_with_csrf_and_the_admin_permission(
    private_app: EventrailApp, orgs: Any, notifier: Notifier, db: Database
) -> None:
    t: Tenant = await orgs()
    with receiving() as ok, receiving(lambda _: "fail") as bad:
        sent = await _send(t, ok, bad)
        client = await signed_in(private_app, t)
        page = await client.get(f"/console/deliveries/{sent.delivered}")
        token = csrf_of(page.text)
        path = f"/console/deliveries/{sent.delivered}/redeliver"
        assert ok.delivered_ids() == {sent.delivered}
        received = len(ok.received)

        for form, headers in (
            ({}, {}),
            ({"csrf": "made-up"}, {}),
            ({"csrf": token}, {"Origin": "http://evil.example"}),
        ):
            r = await client.post(path, data=form, headers=headers)
            assert r.status_code == 403, form
            assert "The form expired" in r.text
        _, code, password = make_till(db, t.org_id, admin=False)
        plain = browser(private_app)
        assert (await sign_in(plain, code, password)).status_code == 303
        plain_token = csrf_of((await plain.get(f"/console/deliveries/{sent.delivered}")).text)
        r = await plain.post(path, data={"csrf": plain_token})
        assert r.status_code == 403
        assert "Redelivering needs a till or client with the admin permission" in r.text
        assert _rows(db, t.org_id)[sent.delivered][1] == "delivered"
        assert len(ok.received) == received

        r = await client.post(path, data={"csrf": token})
        assert r.status_code == 200, r.text
        assert "Queued for redelivery" in r.text
        wait_for(lambda: len(ok.answered) == 2)
        assert [a.headers["webhook-id"] for a in ok.answered] == [sent.delivered] * 2
        assert ok.answered[0].body == ok.answered[1].body  # the same body, sent again
        wait_for(lambda: _rows(db, t.org_id)[sent.delivered][1] == "delivered")

        # A failed one goes again too (and fails again at this receiver).
        before = len(bad.received)
        r = await client.post(f"/console/deliveries/{sent.failed}/redeliver", data={"csrf": token})
        assert r.status_code == 200
        wait_for(lambda: len(bad.received) > before)
        await plain.aclose()


async def test_another_org_sees_and_redelivers_nothing_of_it(
    private_app: EventrailApp, orgs: Any, notifier: Notifier, db: Database
) -> None:
    a: Tenant = await orgs()
    b: Tenant = await orgs()
    with receiving() as ok, receiving(lambda _: "fail") as bad:
        sent = await _send(a, ok, bad)
        client = await signed_in(private_app, b)
        for params in ({}, {"webhook": sent.crm}, {"status": "delivered"}):
            r = await client.get("/console/deliveries", params=params)
            assert r.status_code == 200
            assert ROW.findall(r.text) == [], params
            assert ok.url not in r.text and bad.url not in r.text
            assert "No deliveries under this filter." in r.text
        for delivery_id in (sent.delivered, sent.failed):
            r = await client.get(f"/console/deliveries/{delivery_id}")
            assert r.status_code == 404
            assert sent.phone not in r.text and "customerAdded" not in r.text
        token = csrf_of((await client.get("/console/deliveries")).text)
        received = len(ok.received)
        r = await client.post(
            f"/console/deliveries/{sent.delivered}/redeliver", data={"csrf": token}
        )
        assert r.status_code == 404
        assert _rows(db, a.org_id)[sent.delivered][1] == "delivered"
        assert len(ok.received) == received


async def test_bad_filters_show_the_page_again_with_400(
    private_app: EventrailApp, orgs: Any
) -> None:
    t: Tenant = await orgs()
    client = await signed_in(private_app, t)
    for params, message in (
        ({"status": "BROKEN"}, "Invalid value for field &#39;status&#39;"),
        ({"event": "somethingHappened"}, "unknown event name"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "must not be after"),
        ({"cursor": "abc"}, "use the link of the page"),
        ({"cursor": "1.2.<script>"}, "use the link of the page"),
        ({"webhook": "w" * 40}, "not a webhook of this org"),
    ):
        r = await client.get("/console/deliveries", params=params)
        assert r.status_code == 400, (params, r.text)
        assert message in r.text, params
        assert '<form method="get" action="/console/deliveries"' in r.text
        assert "<script>" not in r.text
    for path in ("/console/deliveries/" + "f" * 80, "/console/deliveries/nothing-here"):
        assert (await client.get(path)).status_code == 404, path
    token = csrf_of((await client.get("/console/deliveries")).text)
    r = await client.post("/console/deliveries/nothing/redeliver", data={"csrf": token})
    assert r.status_code == 404


async def test_paging_neither_skips_nor_repeats_while_notifications_are_written(
    private_app: EventrailApp, orgs: Any, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two webhooks (no sender runs: the rows stay pending): each change writes one row
    per webhook with the same time and order, so page boundaries fall between them too."""
    t: Tenant = await orgs()
    hooks = [await _hook(t, name, "http://127.0.0.1:9/hook", ["customerUpdated"]) for name in "ab"]

    def change(entity: int) -> None:
        with db.transaction() as session:
            emit(session, t.org_id, "customerUpdated", entity, {"customerId": entity})

    for entity in range(4):
        change(entity)
    monkeypatch.setattr(endpoints, "PAGE_SIZE", 3)
    client = await signed_in(private_app, t)
    seen: list[str] = []
    page = await client.get("/console/deliveries")
    while True:
        assert page.status_code == 200, page.text
        seen += ROW.findall(page.text)
        if len(seen) == 3:  # new notifications are written between two pages
            change(100)
            change(101)
        older = re.search(r'rel="next" href="([^"]+)"', page.text)
        if older is None:
            break
        page = await client.get(older.group(1).replace("&amp;", "&"))
    with db.transaction(write=False) as session:
        written = [
            str(i)
            for i in session.execute(
                sa.text(
                    "SELECT id FROM notification_deliveries WHERE org_id = :o AND ref_id NOT IN "
                    "(:a, :b) ORDER BY created_at DESC, seq DESC, id DESC"
                ),
                {"o": t.org_id, "a": f"{t.org_id}_100", "b": f"{t.org_id}_101"},
            ).scalars()
        ]
    assert len(written) == 8
    assert seen == written
    for webhook_id in hooks:  # their pending rows end failed: no later sender tries them
        assert (await t.http.delete(f"/v3/webHooks/{webhook_id}")).status_code == 200


async def test_psi_in_the_body_is_masked_without_psi_view(
    private_app: EventrailApp, orgs: Any, notifier: Notifier, db: Database
) -> None:
    t: Tenant = await orgs()
    r = await t.http.put("/v2/orgs/settings", json={"psiMaskingEnabled": True})
    assert r.status_code == 200, r.text
    with receiving() as ok, receiving(lambda _: "fail") as bad:
        sent = await _send(t, ok, bad)
        assert any(sent.phone.encode() in item.body for item in ok.answered)  # sent as it is
        masked = await signed_in(private_app, t)
        hidden = await masked.get(f"/console/deliveries/{sent.delivered}")
        assert hidden.status_code == 200
        assert sent.phone not in hidden.text
        assert "&#34;currentValue&#34;: &#34;*****&#34;" in hidden.text
        key, secret = make_client(db, t.org_id, t.till_code, psi_view=True)
        viewer = browser(private_app)
        assert (await sign_in(viewer, key, secret, kind="client")).status_code == 303
        shown = await viewer.get(f"/console/deliveries/{sent.delivered}")
        assert sent.phone in shown.text
        await viewer.aclose()
